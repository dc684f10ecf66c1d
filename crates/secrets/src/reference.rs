//! Secret references: the only form in which a credential appears in a configuration.
//!
//! Grammar (one canonical text per reference, so `Display` and `FromStr` round-trip):
//!
//! | form | meaning |
//! |---|---|
//! | `vault:<mount>/<path>#<field>` | latest version of `field` in the KV v2 secret `path` under `mount` |
//! | `vault:<mount>/<path>#<field>?version=N` | version `N` (≥ 1) of it; `?version` comes **after** the field |
//! | `env:NAME` | environment variable `NAME` (`[A-Za-z_][A-Za-z0-9_]*`) of the server process |
//! | `file:/absolute/path` | contents of a file, one trailing newline removed |
//! | `local:<name>` | a secret in the embedded encrypted store |
//!
//! The Vault mount is the first path segment (`secret` in `vault:secret/app/db#password`).
//! Path segments and local names use no empty, `.` or `..` segments.
//!
//! Parse errors never echo the input: a user who pastes a password where a reference belongs
//! must not see it again in a 422 response or a log line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::ReferenceError;

/// The schemes a reference can start with, including the colon.
pub const SCHEMES: [&str; 4] = ["vault:", "env:", "file:", "local:"];

/// Longest accepted reference, in bytes.
const MAX_REFERENCE_LEN: usize = 1024;
/// Longest accepted local secret name, in bytes.
const MAX_LOCAL_NAME_LEN: usize = 255;

/// A parsed secret reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// A field of a Vault/OpenBao KV v2 secret.
    Vault(VaultRef),
    /// An environment variable of the server process.
    Env {
        /// Variable name.
        name: String,
    },
    /// A file's contents (e.g. a Kubernetes or Docker secret mount).
    File {
        /// Absolute path.
        path: String,
    },
    /// A secret of the embedded encrypted store.
    Local {
        /// Secret name.
        name: String,
    },
}

/// Location of a field in a Vault KV v2 secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VaultRef {
    /// Secrets engine mount, e.g. `secret`.
    pub mount: String,
    /// Secret path under the mount, e.g. `app/db`.
    pub path: String,
    /// Key inside the secret's data, e.g. `password`.
    pub field: String,
    /// Pinned version; `None` reads the latest.
    pub version: Option<u64>,
}

impl SecretRef {
    /// The scheme name without colon (`vault`, `env`, `file`, `local`).
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Vault(_) => "vault",
            Self::Env { .. } => "env",
            Self::File { .. } => "file",
            Self::Local { .. } => "local",
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vault(vault) => fmt::Display::fmt(vault, f),
            Self::Env { name } => write!(f, "env:{name}"),
            Self::File { path } => write!(f, "file:{path}"),
            Self::Local { name } => write!(f, "local:{name}"),
        }
    }
}

impl fmt::Display for VaultRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vault:{}/{}#{}", self.mount, self.path, self.field)?;
        if let Some(version) = self.version {
            write!(f, "?version={version}")?;
        }
        Ok(())
    }
}

impl FromStr for SecretRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ReferenceError::new("the reference is empty"));
        }
        if input.len() > MAX_REFERENCE_LEN {
            return Err(ReferenceError::new(format!(
                "the reference is longer than {MAX_REFERENCE_LEN} bytes"
            )));
        }
        if input.chars().any(char::is_control) {
            return Err(ReferenceError::new(
                "the reference contains control characters",
            ));
        }
        if input.trim() != input {
            return Err(ReferenceError::new(
                "the reference has leading or trailing whitespace",
            ));
        }
        if let Some(rest) = input.strip_prefix("vault:") {
            parse_vault(rest).map(Self::Vault)
        } else if let Some(rest) = input.strip_prefix("env:") {
            parse_env(rest)
        } else if let Some(rest) = input.strip_prefix("file:") {
            parse_file(rest)
        } else if let Some(rest) = input.strip_prefix("local:") {
            parse_local(rest)
        } else {
            Err(ReferenceError::new(
                "it does not start with a known scheme: expected `vault:<mount>/<path>#<field>`, \
                 `env:NAME`, `file:/path` or `local:<name>`",
            ))
        }
    }
}

fn parse_vault(rest: &str) -> Result<VaultRef, ReferenceError> {
    const SHAPE: &str =
        "expected `vault:<mount>/<path>#<field>` or `vault:<mount>/<path>#<field>?version=N`";
    let Some((location, field_and_query)) = rest.split_once('#') else {
        return Err(ReferenceError::new(format!(
            "a vault reference needs `#<field>` naming the key inside the secret; {SHAPE}"
        )));
    };
    if location.contains('?') {
        return Err(ReferenceError::new(format!(
            "`?version=N` goes after the field; {SHAPE}"
        )));
    }
    let Some((mount, path)) = location.split_once('/') else {
        return Err(ReferenceError::new(format!(
            "a vault reference needs a mount and a path separated by `/`; {SHAPE}"
        )));
    };
    check_segment(mount, "the vault mount")?;
    check_segments(path, "the vault path")?;
    let (field, query) = match field_and_query.split_once('?') {
        Some((field, query)) => (field, Some(query)),
        None => (field_and_query, None),
    };
    if field.is_empty() {
        return Err(ReferenceError::new(format!(
            "the field after `#` is empty; {SHAPE}"
        )));
    }
    if field.contains(['#', '/']) || field.chars().any(char::is_whitespace) {
        return Err(ReferenceError::new(
            "the field may not contain `#`, `/` or whitespace",
        ));
    }
    let version = match query {
        None => None,
        Some(query) => Some(parse_version(query)?),
    };
    Ok(VaultRef {
        mount: mount.to_owned(),
        path: path.to_owned(),
        field: field.to_owned(),
        version,
    })
}

fn parse_version(query: &str) -> Result<u64, ReferenceError> {
    let Some(number) = query.strip_prefix("version=") else {
        return Err(ReferenceError::new(
            "the only query parameter of a vault reference is `?version=N`",
        ));
    };
    // Digits only: `u64::from_str` would accept a leading `+`, breaking the round-trip.
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.starts_with('0') {
        return Err(ReferenceError::new(
            "the version must be a positive whole number without leading zeros, e.g. `?version=3`",
        ));
    }
    number
        .parse::<u64>()
        .map_err(|_| ReferenceError::new("the version number is too large"))
}

fn parse_env(name: &str) -> Result<SecretRef, ReferenceError> {
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid_start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ReferenceError::new(
            "an environment variable name is letters, digits and `_`, not starting with a digit \
             (`env:NAME`)",
        ));
    }
    Ok(SecretRef::Env {
        name: name.to_owned(),
    })
}

fn parse_file(path: &str) -> Result<SecretRef, ReferenceError> {
    if !path.starts_with('/') {
        return Err(ReferenceError::new(
            "a file reference needs an absolute path (`file:/path/to/secret`)",
        ));
    }
    if path.ends_with('/') {
        return Err(ReferenceError::new(
            "a file reference names a file, not a directory",
        ));
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(ReferenceError::new(
            "a file path may not contain `.` or `..` segments",
        ));
    }
    Ok(SecretRef::File {
        path: path.to_owned(),
    })
}

fn parse_local(name: &str) -> Result<SecretRef, ReferenceError> {
    validate_local_name(name)?;
    Ok(SecretRef::Local {
        name: name.to_owned(),
    })
}

/// Check a name of the embedded store: `/`-separated segments of letters, digits, `_`, `-`
/// and `.` (not `.`/`..` alone), at most 255 bytes.
pub fn validate_local_name(name: &str) -> Result<(), ReferenceError> {
    if name.len() > MAX_LOCAL_NAME_LEN {
        return Err(ReferenceError::new(format!(
            "a local secret name is at most {MAX_LOCAL_NAME_LEN} bytes"
        )));
    }
    check_segments(name, "the local secret name")?;
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if !valid_chars {
        return Err(ReferenceError::new(
            "a local secret name uses letters, digits, `_`, `-`, `.` and `/` only",
        ));
    }
    Ok(())
}

fn check_segments(path: &str, what: &str) -> Result<(), ReferenceError> {
    if path.is_empty() {
        return Err(ReferenceError::new(format!("{what} is empty")));
    }
    path.split('/')
        .try_for_each(|segment| check_segment(segment, what))
}

fn check_segment(segment: &str, what: &str) -> Result<(), ReferenceError> {
    if segment.is_empty() {
        return Err(ReferenceError::new(format!(
            "{what} has an empty segment (leading, trailing or doubled `/`)"
        )));
    }
    if segment == "." || segment == ".." {
        return Err(ReferenceError::new(format!(
            "{what} may not contain `.` or `..` segments"
        )));
    }
    if segment.contains(['#', '?']) || segment.chars().any(char::is_whitespace) {
        return Err(ReferenceError::new(format!(
            "{what} may not contain `#`, `?` or whitespace"
        )));
    }
    Ok(())
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether `value` starts like a secret reference (`vault:`, `env:`, `file:`, `local:`),
/// valid or not. Use it to tell "a literal was pasted here" from "a reference with a typo".
pub fn looks_like_reference(value: &str) -> bool {
    SCHEMES.iter().any(|scheme| value.starts_with(scheme))
}

/// Why a secret field of a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretFieldProblem {
    /// The field holds a literal (a plain string, number, object...) instead of a reference.
    LiteralValue,
    /// The field holds something shaped like a reference that does not parse.
    InvalidReference(ReferenceError),
}

/// A secret field of a configuration that does not hold a valid reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFieldViolation {
    /// RFC 6901 JSON Pointer of the field, e.g. `/auth/password`.
    pub pointer: String,
    /// What is wrong with it.
    pub problem: SecretFieldProblem,
}

impl fmt::Display for SecretFieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            SecretFieldProblem::LiteralValue => write!(
                f,
                "{}: a secret field must hold a reference such as `vault:secret/app#password`, \
                 `env:NAME`, `file:/path` or `local:<name>`, not a literal value",
                self.pointer
            ),
            SecretFieldProblem::InvalidReference(error) => write!(f, "{}: {error}", self.pointer),
        }
    }
}

/// Maximum `$ref`/nesting depth followed while walking a schema.
const MAX_SCHEMA_DEPTH: usize = 64;

/// Find the secret fields of `config` that hold anything but a valid reference.
///
/// A field is secret when its schema has `"x-secret": true`. The walk follows `properties`,
/// `additionalProperties`, `items`, `prefixItems`, `allOf`/`anyOf`/`oneOf` and local `$ref`s
/// (`#/...`). `null` in a secret field counts as absent (the schema's `required` handles it).
/// The result is sorted by pointer, without duplicates.
pub fn find_literal_secrets(config: &Value, schema: &Value) -> Vec<SecretFieldViolation> {
    let mut walker = SchemaWalker {
        root: schema,
        violations: Vec::new(),
        references: Vec::new(),
    };
    walker.walk(config, schema, String::new(), 0);
    let mut violations = walker.violations;
    violations.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    violations.dedup_by(|a, b| a.pointer == b.pointer);
    violations
}

/// The valid secret references held by the secret fields of `config` (the same walk as
/// [`find_literal_secrets`]), as `(JSON Pointer, reference text)`, sorted by pointer.
/// These are what the server will resolve on someone's behalf, so each is authorized.
pub fn find_secret_references(config: &Value, schema: &Value) -> Vec<(String, String)> {
    let mut walker = SchemaWalker {
        root: schema,
        violations: Vec::new(),
        references: Vec::new(),
    };
    walker.walk(config, schema, String::new(), 0);
    let mut references = walker.references;
    references.sort();
    references.dedup();
    references
}

struct SchemaWalker<'a> {
    root: &'a Value,
    violations: Vec<SecretFieldViolation>,
    references: Vec<(String, String)>,
}

impl<'a> SchemaWalker<'a> {
    fn walk(&mut self, value: &Value, schema: &'a Value, pointer: String, depth: usize) {
        if depth > MAX_SCHEMA_DEPTH {
            return;
        }
        let Some(schema_object) = schema.as_object() else {
            return;
        };
        if let Some(target) = schema_object
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| reference.strip_prefix('#'))
            .and_then(|pointer_in_root| self.root.pointer(pointer_in_root))
        {
            self.walk(value, target, pointer.clone(), depth + 1);
        }
        if schema_object.get("x-secret") == Some(&Value::Bool(true)) {
            self.check_secret_field(value, pointer);
            return;
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            if let Some(subschemas) = schema_object.get(combinator).and_then(Value::as_array) {
                for subschema in subschemas {
                    self.walk(value, subschema, pointer.clone(), depth + 1);
                }
            }
        }
        match value {
            Value::Object(members) => {
                let properties = schema_object.get("properties").and_then(Value::as_object);
                let additional = schema_object
                    .get("additionalProperties")
                    .filter(|s| s.is_object());
                for (key, member) in members {
                    let member_schema = properties.and_then(|p| p.get(key)).or(additional);
                    if let Some(member_schema) = member_schema {
                        let child = format!("{pointer}/{}", escape_pointer_token(key));
                        self.walk(member, member_schema, child, depth + 1);
                    }
                }
            }
            Value::Array(items) => {
                let prefix_items = schema_object.get("prefixItems").and_then(Value::as_array);
                let rest_items = schema_object.get("items").filter(|s| s.is_object());
                for (index, item) in items.iter().enumerate() {
                    let item_schema = prefix_items.and_then(|p| p.get(index)).or(rest_items);
                    if let Some(item_schema) = item_schema {
                        self.walk(item, item_schema, format!("{pointer}/{index}"), depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_secret_field(&mut self, value: &Value, pointer: String) {
        let problem = match value {
            Value::Null => return,
            Value::String(text) => match text.parse::<SecretRef>() {
                Ok(_) => {
                    self.references.push((pointer, text.clone()));
                    return;
                }
                Err(error) if looks_like_reference(text) => {
                    SecretFieldProblem::InvalidReference(error)
                }
                Err(_) => SecretFieldProblem::LiteralValue,
            },
            _ => SecretFieldProblem::LiteralValue,
        };
        self.violations
            .push(SecretFieldViolation { pointer, problem });
    }
}

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One line per case: input, then `Ok(canonical display)` or `Err(part of the message)`.
    const CASES: &[(&str, Result<&str, &str>)] = &[
        (
            "vault:secret/app/db#password",
            Ok("vault:secret/app/db#password"),
        ),
        (
            "vault:secret/app/db#password?version=3",
            Ok("vault:secret/app/db#password?version=3"),
        ),
        ("vault:kv/a#b", Ok("vault:kv/a#b")),
        (
            "vault:secret/app/db#pass.word-1_x",
            Ok("vault:secret/app/db#pass.word-1_x"),
        ),
        (
            "vault:secret/app/db?version=3#password",
            Err("`?version=N` goes after the field"),
        ),
        ("vault:secret/app/db", Err("needs `#<field>`")),
        ("vault:secret#password", Err("a mount and a path")),
        (
            "vault:/app#password",
            Err("the vault mount has an empty segment"),
        ),
        ("vault:secret/#password", Err("the vault path is empty")),
        (
            "vault:secret/a//b#password",
            Err("the vault path has an empty segment"),
        ),
        ("vault:secret/../sys#password", Err("`.` or `..` segments")),
        ("vault:secret/app#", Err("the field after `#` is empty")),
        ("vault:secret/app#a#b", Err("may not contain `#`")),
        (
            "vault:secret/app#pw?version=0",
            Err("positive whole number"),
        ),
        (
            "vault:secret/app#pw?version=+3",
            Err("positive whole number"),
        ),
        (
            "vault:secret/app#pw?version=03",
            Err("without leading zeros"),
        ),
        ("vault:secret/app#pw?version=", Err("positive whole number")),
        ("vault:secret/app#pw?ver=3", Err("only query parameter")),
        (
            "vault:secret/app#pw?version=99999999999999999999",
            Err("too large"),
        ),
        ("vault:sec ret/app#pw", Err("whitespace")),
        ("env:DB_PASSWORD", Ok("env:DB_PASSWORD")),
        ("env:_x1", Ok("env:_x1")),
        ("env:", Err("environment variable name")),
        ("env:1ABC", Err("not starting with a digit")),
        ("env:A-B", Err("environment variable name")),
        ("file:/run/secrets/db", Ok("file:/run/secrets/db")),
        ("file:run/secrets/db", Err("absolute path")),
        ("file:/run/secrets/", Err("not a directory")),
        ("file:/run/../etc/shadow", Err("`.` or `..` segments")),
        ("local:db/password", Ok("local:db/password")),
        ("local:stripe.api-key_2", Ok("local:stripe.api-key_2")),
        ("local:", Err("the local secret name is empty")),
        ("local:a//b", Err("empty segment")),
        ("local:a/b/", Err("empty segment")),
        ("local:a b", Err("whitespace")),
        ("local:naïve", Err("letters, digits")),
        ("hunter2", Err("does not start with a known scheme")),
        (
            "Vault:secret/app#pw",
            Err("does not start with a known scheme"),
        ),
        ("", Err("empty")),
        (" env:X", Err("whitespace")),
        ("env:X\n", Err("control characters")),
    ];

    #[test]
    fn reference_parsing_table() {
        for (input, expected) in CASES {
            let parsed = input.parse::<SecretRef>();
            match (expected, &parsed) {
                (Ok(display), Ok(reference)) => {
                    assert_eq!(&reference.to_string(), display, "display of {input:?}");
                    assert_eq!(
                        reference.to_string().parse::<SecretRef>().as_ref(),
                        Ok(reference),
                        "round trip of {input:?}"
                    );
                }
                (Err(fragment), Err(error)) => {
                    let message = error.to_string();
                    assert!(
                        message.contains(fragment),
                        "{input:?}: {message:?} should contain {fragment:?}"
                    );
                }
                _ => panic!("{input:?}: expected {expected:?}, got {parsed:?}"),
            }
        }
    }

    #[test]
    fn parse_errors_do_not_echo_the_input() {
        for input in [
            "sup3r-s3cret-pw",
            "vault:sup3r-s3cret-pw",
            "env:sup3r-s3cret-pw",
        ] {
            let message = input.parse::<SecretRef>().err().map(|e| e.to_string());
            let message = message.unwrap_or_default();
            assert!(!message.is_empty(), "{input:?} should not parse");
            assert!(!message.contains("sup3r-s3cret-pw"), "{message}");
        }
    }

    #[test]
    fn vault_reference_parts() {
        let parsed = "vault:secret/app/db#password?version=3".parse::<SecretRef>();
        let expected = SecretRef::Vault(VaultRef {
            mount: "secret".into(),
            path: "app/db".into(),
            field: "password".into(),
            version: Some(3),
        });
        assert_eq!(parsed, Ok(expected));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let reference: Result<SecretRef, _> = serde_json::from_value(json!("local:db/pw"));
        let reference = reference.ok();
        assert_eq!(
            reference.as_ref().map(|r| serde_json::to_value(r).ok()),
            Some(Some(json!("local:db/pw")))
        );
        let invalid: Result<SecretRef, _> = serde_json::from_value(json!("local:a b"));
        assert!(invalid.is_err());
    }

    #[test]
    fn looks_like_reference_checks_the_scheme_only() {
        assert!(looks_like_reference("vault:broken"));
        assert!(looks_like_reference("env:X"));
        assert!(!looks_like_reference("hunter2"));
        assert!(!looks_like_reference("ENV:X"));
    }

    #[test]
    fn finds_literal_secret_fields() {
        let schema = json!({
            "type": "object",
            "$defs": { "secret": { "type": "string", "x-secret": true } },
            "properties": {
                "host": { "type": "string" },
                "password": { "type": "string", "x-secret": true },
                "token": { "$ref": "#/$defs/secret" },
                "auth": {
                    "type": "object",
                    "properties": { "client/secret": { "x-secret": true } }
                },
                "headers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": { "value": { "x-secret": true } }
                    }
                },
                "extra": { "additionalProperties": { "x-secret": true } },
                "oauth": { "oneOf": [ { "properties": { "key": { "x-secret": true } } } ] },
                "optional": { "x-secret": true }
            }
        });
        let config = json!({
            "host": "db.local",
            "password": "hunter2",
            "token": "vault:secret/app#token",
            "auth": { "client/secret": "vault:secret/app#" },
            "headers": [ { "value": "env:API_KEY" }, { "value": 42 } ],
            "extra": { "a": "local:x", "b": "plain" },
            "oauth": { "key": "literal" },
            "optional": null
        });
        let violations = find_literal_secrets(&config, &schema);
        let summary: Vec<(&str, bool)> = violations
            .iter()
            .map(|v| {
                let invalid_reference =
                    matches!(v.problem, SecretFieldProblem::InvalidReference(_));
                (v.pointer.as_str(), invalid_reference)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/auth/client~1secret", true),
                ("/extra/b", false),
                ("/headers/1/value", false),
                ("/oauth/key", false),
                ("/password", false),
            ]
        );
        let message = violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!message.contains("hunter2"), "{message}");
    }
}
