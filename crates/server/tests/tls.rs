//! HTTPS serving and mutual TLS, with certificates generated in the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::Value;
use support::{ADMIN_TOKEN, Backend, Options, TestApp};

struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A leaf certificate for `common_name` (and the server names), PEM cert and key.
    fn issue(&self, common_name: &str, names: &[&str]) -> (String, String) {
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

struct Pki {
    dir: tempfile::TempDir,
    ca: Authority,
}

impl Pki {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca: Authority::new("grimOS test CA"),
        }
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    fn server_env(&self, client_auth: Option<&str>) -> Vec<(&'static str, String)> {
        let (cert, key) = self.ca.issue("grimos", &["localhost", "127.0.0.1"]);
        let mut env = vec![
            ("GRIMOS_TLS_CERT", self.write("server.pem", &cert)),
            ("GRIMOS_TLS_KEY", self.write("server.key", &key)),
        ];
        if let Some(mode) = client_auth {
            env.push((
                "GRIMOS_TLS_CLIENT_CA",
                self.write("ca.pem", &self.ca.cert.pem()),
            ));
            env.push(("GRIMOS_TLS_CLIENT_AUTH", mode.to_owned()));
        }
        env
    }

    fn client(&self, identity: Option<(String, String)>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().add_root_certificate(
            reqwest::Certificate::from_pem(self.ca.cert.pem().as_bytes()).unwrap(),
        );
        if let Some((cert, key)) = identity {
            builder = builder
                .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }
}

fn https(app: &TestApp, path: &str) -> String {
    format!(
        "{}{path}",
        app.base_url
            .replace("http://127.0.0.1", "https://localhost")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_and_plain_http_is_not() {
    let pki = Pki::new();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: pki.server_env(None),
        },
    )
    .await;
    let client = pki.client(None);
    let response = client
        .get(https(&app, "/api/v1/auth/whoami"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A client that does not trust the CA refuses the server.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(https(&app, "/livez")).send().await.is_err());
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(reqwest::get(app.url("/livez")).await.is_err());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_accepts_the_ca_s_clients_as_services_and_refuses_others() {
    let pki = Pki::new();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: pki.server_env(Some("required")),
        },
    )
    .await;

    let service = pki.client(Some(pki.ca.issue("billing-sync", &[])));
    let whoami: Value = service
        .get(https(&app, "/api/v1/auth/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["kind"], "certificate");
    assert_eq!(whoami["role"], "service");
    assert_eq!(whoami["display_name"], "billing-sync");
    // The service role is not admin.
    let users = service
        .get(https(&app, "/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403);

    let rogue_ca = Authority::new("rogue CA");
    let rogue = pki.client(Some(rogue_ca.issue("billing-sync", &[])));
    assert!(
        rogue.get(https(&app, "/livez")).send().await.is_err(),
        "a certificate from another CA is refused"
    );
    let anonymous = pki.client(None);
    assert!(
        anonymous.get(https(&app, "/livez")).send().await.is_err(),
        "required mode refuses clients without a certificate"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_client_auth_still_lets_token_holders_in() {
    let pki = Pki::new();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: pki.server_env(Some("optional")),
        },
    )
    .await;
    let anonymous = pki.client(None);
    let whoami: Value = anonymous
        .get(https(&app, "/api/v1/auth/whoami"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["role"], "admin");
    let unauthenticated = anonymous
        .get(https(&app, "/api/v1/auth/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let rogue = pki.client(Some(Authority::new("rogue").issue("x", &[])));
    assert!(rogue.get(https(&app, "/livez")).send().await.is_err());
    app.stop().await;
}

#[tokio::test]
async fn a_key_that_does_not_fit_the_certificate_stops_start_up() {
    let pki = Pki::new();
    let (cert, _) = pki.ca.issue("grimos", &["localhost"]);
    let (_, other_key) = pki.ca.issue("other", &["localhost"]);
    let env = [
        ("GRIMOS_TLS_CERT", pki.write("c.pem", &cert)),
        ("GRIMOS_TLS_KEY", pki.write("k.pem", &other_key)),
        (
            "GRIMOS_DATA_DIR",
            pki.dir.path().join("data").display().to_string(),
        ),
    ];
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    };
    let settings = settings::load(&settings::Flags::default(), &lookup).unwrap();
    let error = server::Platform::build(&settings)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("do not fit together"), "{error}");
}
