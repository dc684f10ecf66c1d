use std::collections::HashMap;
use std::io::Write as _;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn config_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents.as_bytes()).expect("write");
    file
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let settings = load(&Flags::default(), &env_of(&[])).expect("defaults are valid");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.data_dir, PathBuf::from("./data"));
    assert_eq!(settings.database_url, "sqlite://./data/grimos.db");
    assert_eq!(settings.log_format, LogFormat::Json);
    assert_eq!(settings.max_concurrent_runs, 4);
    assert!(settings.oidc.is_none());
}

#[test]
fn the_run_limit_comes_from_the_file_or_the_environment() {
    let file = config_file("[flows]\nmax_concurrent_runs = 2\n");
    let flags = Flags {
        config: Some(file.path().to_path_buf()),
        ..Flags::default()
    };
    let from_file = load(&flags, &env_of(&[])).expect("valid");
    assert_eq!(from_file.max_concurrent_runs, 2);
    let from_env = load(
        &flags,
        &env_of(&[("GRIMOS_FLOWS_MAX_CONCURRENT_RUNS", "16")]),
    )
    .expect("valid");
    assert_eq!(from_env.max_concurrent_runs, 16);
    let error = load(
        &Flags::default(),
        &env_of(&[("GRIMOS_FLOWS_MAX_CONCURRENT_RUNS", "0")]),
    )
    .expect_err("zero runs is not a limit");
    assert!(
        error.to_string().starts_with(
            "invalid setting flows.max_concurrent_runs (from GRIMOS_FLOWS_MAX_CONCURRENT_RUNS)"
        ),
        "{error}"
    );
}

#[test]
fn flags_beat_env_which_beats_the_file() {
    let file = config_file(
        "listen = \"127.0.0.1:1001\"\ndata_dir = \"/from-file\"\nlog_level = \"warn\"\n",
    );
    let env = env_of(&[
        ("GRIMOS_LISTEN", "127.0.0.1:1002"),
        ("GRIMOS_DATA_DIR", "/from-env"),
    ]);
    let flags = Flags {
        config: Some(file.path().to_path_buf()),
        listen: Some("127.0.0.1:1003".to_owned()),
        ..Flags::default()
    };
    let settings = load(&flags, &env).expect("valid");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:1003");
    assert_eq!(settings.data_dir, PathBuf::from("/from-env"));
    assert_eq!(settings.log_level, "warn");
    assert_eq!(settings.database_url, "sqlite:///from-env/grimos.db");
    let origin = |name| {
        settings
            .origins
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, origin)| origin.clone())
    };
    assert_eq!(origin("listen"), Some(Origin::Flag("--listen")));
    assert_eq!(origin("data_dir"), Some(Origin::Env("GRIMOS_DATA_DIR")));
    assert_eq!(
        origin("log_level"),
        Some(Origin::File(file.path().to_path_buf()))
    );
}

#[test]
fn invalid_values_name_the_setting_and_source() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 6] = [
        (
            &[("GRIMOS_LISTEN", "nowhere")],
            "invalid setting listen (from GRIMOS_LISTEN)",
            "not a socket address",
        ),
        (
            &[("GRIMOS_DATABASE_URL", "mysql://u:hunter2@x/db")],
            "invalid setting database_url",
            "not a supported database URL",
        ),
        (
            &[("GRIMOS_LOG_FORMAT", "xml")],
            "invalid setting log_format",
            "expected json or pretty",
        ),
        (
            &[("GRIMOS_REQUEST_TIMEOUT_SECS", "0")],
            "invalid setting request_timeout_secs",
            "out of range",
        ),
        (
            &[("GRIMOS_ADMIN_TOKEN", "short")],
            "invalid setting admin_token (from GRIMOS_ADMIN_TOKEN)",
            "must start with grm_",
        ),
        (
            &[("GRIMOS_OIDC_ISSUER", "https://idp")],
            "invalid setting auth.oidc.audience",
            "is required",
        ),
    ];
    for (env, prefix, detail) in cases {
        let error = load(&Flags::default(), &env_of(env)).expect_err("invalid");
        let line = error.to_string();
        assert!(line.starts_with(prefix), "{line}");
        assert!(line.contains(detail), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(!line.contains("hunter2"), "no secrets in errors: {line}");
    }
}

#[test]
fn the_config_file_rejects_unknown_keys_and_bad_toml() {
    let unknown = config_file("listn = \"x\"\n");
    let flags = Flags {
        config: Some(unknown.path().to_path_buf()),
        ..Flags::default()
    };
    let error = load(&flags, &env_of(&[])).expect_err("unknown key");
    assert!(
        error.to_string().contains("unknown key \"listn\""),
        "{error}"
    );

    let broken = config_file("listen = \n");
    let flags = Flags {
        config: Some(broken.path().to_path_buf()),
        ..Flags::default()
    };
    assert!(
        load(&flags, &env_of(&[]))
            .expect_err("bad toml")
            .to_string()
            .contains("not valid TOML")
    );

    let flags = Flags {
        config: Some(PathBuf::from("/nonexistent/grimos.toml")),
        ..Flags::default()
    };
    assert!(
        load(&flags, &env_of(&[]))
            .expect_err("missing")
            .to_string()
            .contains("cannot read")
    );
}

#[test]
fn oidc_settings_come_from_the_file_with_defaults() {
    let file = config_file(
        "[auth.oidc]\nissuer = \"https://idp.example\"\naudience = \"grimos\"\njwks_url = \"https://idp.example/jwks\"\n",
    );
    let flags = Flags {
        config: Some(file.path().to_path_buf()),
        ..Flags::default()
    };
    let oidc = load(&flags, &env_of(&[]))
        .expect("valid")
        .oidc
        .expect("configured");
    assert_eq!(oidc.issuer, "https://idp.example");
    assert_eq!(oidc.role_claim, "grimos_role");
}

#[test]
fn show_redacts_secrets_and_names_sources() {
    let env = env_of(&[
        ("GRIMOS_DATABASE_URL", "postgres://grimos:hunter2@db/app"),
        (
            "GRIMOS_ADMIN_TOKEN",
            "grm_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
    ]);
    let shown = load(&Flags::default(), &env).expect("valid").show();
    assert!(shown.contains("postgres://grimos:***@db/app"), "{shown}");
    assert!(shown.contains("# GRIMOS_DATABASE_URL"), "{shown}");
    assert!(!shown.contains("hunter2"));
    assert!(!shown.contains("grm_abcdefghijklmnopqrstuvwxyz0123456789"));
    assert!(shown.contains("listen = \"127.0.0.1:8080\""), "{shown}");
}

#[test]
fn vault_comes_from_the_file_table_or_the_standard_environment() {
    let file = config_file(
        "[vault]\naddress = \"https://vault.internal:8200\"\nnamespace = \"ops\"\n[vault.auth]\nmethod = \"approle\"\nrole_id = \"grimos\"\nsecret_id_file = \"/run/secrets/vault-secret-id\"\n",
    );
    let flags = Flags {
        config: Some(file.path().to_path_buf()),
        ..Flags::default()
    };
    let vault = load(&flags, &env_of(&[]))
        .expect("valid")
        .vault
        .expect("configured");
    assert_eq!(vault.address, "https://vault.internal:8200");
    assert_eq!(vault.namespace.as_deref(), Some("ops"));

    let env = env_of(&[
        ("VAULT_ADDR", "http://127.0.0.1:8200"),
        ("VAULT_TOKEN", "s.hunter2"),
    ]);
    let settings = load(&Flags::default(), &env).expect("valid");
    assert_eq!(
        settings.vault.as_ref().expect("from env").address,
        "http://127.0.0.1:8200"
    );
    let shown = settings.show();
    assert!(shown.contains("# vault: http://127.0.0.1:8200"), "{shown}");
    assert!(!shown.contains("hunter2"));
    assert!(
        !format!("{settings:?}").contains("hunter2"),
        "Debug never prints secrets"
    );

    let missing_token =
        load(&Flags::default(), &env_of(&[("VAULT_ADDR", "http://x")])).expect_err("no token");
    assert!(
        missing_token
            .to_string()
            .starts_with("invalid setting vault (from VAULT_ADDR)"),
        "{missing_token}"
    );

    let bad_table =
        config_file("[vault]\naddress = \"https://v\"\n[vault.auth]\nmethod = \"magic\"\n");
    let flags = Flags {
        config: Some(bad_table.path().to_path_buf()),
        ..Flags::default()
    };
    assert!(
        load(&flags, &env_of(&[]))
            .expect_err("bad")
            .to_string()
            .contains("[vault] table is invalid")
    );
}

#[test]
fn a_bad_master_key_is_refused_without_echoing_it() {
    let error = load(
        &Flags::default(),
        &env_of(&[("GRIMOS_MASTER_KEY", "hunter2hunter2")]),
    )
    .expect_err("bad key");
    let line = error.to_string();
    assert!(
        line.starts_with("invalid setting master_key (from GRIMOS_MASTER_KEY)"),
        "{line}"
    );
    assert!(!line.contains("hunter2hunter2"), "{line}");
    let good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let settings = load(&Flags::default(), &env_of(&[("GRIMOS_MASTER_KEY", good)])).expect("valid");
    assert!(settings.master_key.is_some());
    assert!(!settings.show().contains(good));
    assert!(!format!("{settings:?}").contains(good));
}

#[test]
fn secret_reference_and_egress_settings_come_from_the_file_or_the_environment() {
    let defaults = load(&Flags::default(), &env_of(&[])).expect("defaults are valid");
    assert_eq!(defaults.secret_references.env_prefix, "GRIMOS_SECRET_");
    assert!(
        defaults
            .secret_references
            .file_dirs
            .iter()
            .all(|dir| dir.is_absolute()),
        "{:?}",
        defaults.secret_references.file_dirs
    );
    assert!(defaults.secret_references.vault_prefixes.is_empty());
    assert_eq!(defaults.egress, EgressSettings::default());
    assert_eq!(defaults.default_run_timeout, Duration::from_secs(3600));

    let file = config_file(
        "[secrets]\nvault_prefixes = [\"secret/grimos/\", \"vault:kv/app\"]\n\
         [egress]\ndeny_private = true\nallow = [\"10.1.0.0/16\", \"192.0.2.7\"]\n\
         allow_for = [\"sql=172.16.0.0/12\"]\n",
    );
    let flags = Flags {
        config: Some(file.path().to_path_buf()),
        ..Flags::default()
    };
    let settings = load(
        &flags,
        &env_of(&[
            (
                "GRIMOS_SECRETS_FILE_DIRS",
                "/run/secrets, /etc/grimos/secrets",
            ),
            ("GRIMOS_EGRESS_DENY", "203.0.113.0/24"),
        ]),
    )
    .expect("valid");
    assert_eq!(
        settings.secret_references.vault_prefixes,
        vec!["secret/grimos/".to_owned(), "kv/app".to_owned()]
    );
    assert_eq!(
        settings.secret_references.file_dirs,
        vec![
            PathBuf::from("/run/secrets"),
            PathBuf::from("/etc/grimos/secrets")
        ]
    );
    assert!(settings.egress.deny_private);
    let allow: Vec<String> = settings
        .egress
        .allow
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(allow, vec!["10.1.0.0/16", "192.0.2.7/32"]);
    assert_eq!(settings.egress.deny[0].to_string(), "203.0.113.0/24");
    assert_eq!(settings.egress.allow_for[0].0, "sql");
    assert!(settings.show().contains("egress.allow_for"));

    for (name, value, setting) in [
        ("GRIMOS_EGRESS_ALLOW", "10.0.0.0/40", "egress.allow"),
        ("GRIMOS_EGRESS_ALLOW_FOR", "10.0.0.0/8", "egress.allow_for"),
        ("GRIMOS_EGRESS_DENY_PRIVATE", "maybe", "egress.deny_private"),
        ("GRIMOS_SECRETS_ENV_PREFIX", "x", "secrets.env_prefix"),
        (
            "GRIMOS_SECRETS_VAULT_PREFIXES",
            "secret/../admin",
            "secrets.vault_prefixes",
        ),
    ] {
        let error = load(&Flags::default(), &env_of(&[(name, value)])).expect_err(name);
        assert_eq!(error.setting, setting, "{error}");
    }
}

/// The README's configuration table is generated from the definitions: a setting added
/// without its row (or a row left behind) fails here. `UPDATE_README=1` rewrites it.
#[test]
fn the_readme_table_is_generated_from_the_definitions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let begin = readme.find("<!-- settings-table").expect("begin marker");
    let begin = begin + readme[begin..].find('\n').expect("marker line") + 1;
    let end = readme.find("<!-- /settings-table -->").expect("end marker");
    let expected = settings_table();
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{}{}", &readme[..begin], expected, &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    assert_eq!(
        &readme[begin..end],
        expected,
        "README.md's settings table differs from crates/settings DEFINITIONS; run UPDATE_README=1 cargo test -p settings"
    );
}

/// Every setting has a distinct name, key and GRIMOS_ environment variable, and the
/// effective configuration shows each one that is in force.
#[test]
fn definitions_are_distinct_and_shown() {
    let mut names = std::collections::HashSet::new();
    let mut envs = std::collections::HashSet::new();
    for definition in &DEFINITIONS {
        assert!(names.insert(definition.name), "{}", definition.name);
        assert!(envs.insert(definition.env), "{}", definition.env);
        assert!(definition.env.starts_with("GRIMOS_"), "{}", definition.env);
        assert!(!definition.doc.is_empty(), "{}", definition.name);
    }
    let shown = load(&Flags::default(), &env_of(&[]))
        .expect("defaults")
        .show();
    for definition in DEFINITIONS.iter().filter(|definition| {
        !definition.key.starts_with("tls.") && !definition.key.starts_with("auth.oidc.")
    }) {
        assert!(
            shown.contains(&format!("{} = ", definition.name)),
            "config show omits {}:\n{shown}",
            definition.name
        );
    }
}
