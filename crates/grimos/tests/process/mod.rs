//! Running the real `grimos` binary in tests.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_grimos");

/// A `grimos` command with a clean environment (no GRIMOS_* or OTEL_* leaking in).
pub fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("GRIMOS_") || name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command.env("GRIMOS_DATA_DIR", data_dir);
    command
}

/// A running `grimos serve` whose stdout lines are collected.
pub struct Server {
    pub child: Child,
    pub address: String,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Server {
    /// Start `command serve --listen 127.0.0.1:0 ...` and wait for it to listen.
    pub fn start(mut command: Command) -> Server {
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("grimos starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            address: String::new(),
            lines,
            seen: Vec::new(),
        };
        let listening = server.wait_for_line(|line| line["message"] == "grimos listening");
        server.address = listening["address"].as_str().expect("address").to_owned();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Wait (up to 20 s) for a JSON log line matching `predicate`.
    pub fn wait_for_line(&mut self, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(remaining)
                .unwrap_or_else(|_| panic!("no matching log line; saw:\n{}", self.seen.join("\n")));
            self.seen.push(line.clone());
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("log line is not JSON: {line}"));
            if predicate(&parsed) {
                return parsed;
            }
        }
    }

    /// Collect the lines printed so far (waiting briefly for stragglers).
    pub fn drain(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Wait for the process to exit (up to 20 s) and return its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
