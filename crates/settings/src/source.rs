//! Where a value came from, and the configuration file's values.

use std::fmt;
use std::path::{Path, PathBuf};

/// The source of a setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--listen`.
    Flag(&'static str),
    /// An environment variable, e.g. `GRIMOS_LISTEN`.
    Env(&'static str),
    /// The configuration file at this path.
    File(PathBuf),
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(name) => write!(f, "{name}"),
            Origin::File(path) => write!(f, "config file {}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// The values of a TOML configuration file, flattened to dotted keys (`auth.oidc.issuer`)
/// and kept as text so that every source is parsed and reported the same way.
#[derive(Debug, Clone, Default)]
pub struct FileValues {
    path: PathBuf,
    values: Vec<(String, String)>,
    table: toml::Table,
}

impl FileValues {
    /// No file.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Read and flatten the file at `path`, refusing keys not in `known_keys` and not
    /// inside one of the `known_tables` (which are read whole by their own parsers).
    pub fn read(path: &Path, known_keys: &[&str], known_tables: &[&str]) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let table: toml::Table = text.parse().map_err(|error: toml::de::Error| {
            format!("{} is not valid TOML: {}", path.display(), error.message())
        })?;
        let mut values = Vec::new();
        flatten("", &table, &mut values)
            .map_err(|message| format!("{}: {message}", path.display()))?;
        let known = |key: &str| {
            known_keys.contains(&key)
                || known_tables.iter().any(|table| {
                    key.strip_prefix(table)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        };
        if let Some((unknown, _)) = values.iter().find(|(key, _)| !known(key)) {
            return Err(format!(
                "{}: unknown key {unknown:?}; known keys are {} and the tables {}",
                path.display(),
                known_keys.join(", "),
                known_tables.join(", ")
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            values,
            table,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw table named `name` (one level, e.g. `vault`), if the file has it.
    pub fn table(&self, name: &str) -> Option<&toml::Table> {
        self.table.get(name).and_then(toml::Value::as_table)
    }

    /// The value at a dotted `key`, as text.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| value.clone())
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (key, value) in table {
        let full_key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full_key, inner, out)?,
            toml::Value::String(text) => out.push((full_key, text.clone())),
            toml::Value::Array(items) => {
                out.push((full_key, toml::Value::Array(items.clone()).to_string()))
            }
            toml::Value::Integer(number) => out.push((full_key, number.to_string())),
            toml::Value::Boolean(flag) => out.push((full_key, flag.to_string())),
            toml::Value::Float(number) => out.push((full_key, number.to_string())),
            toml::Value::Datetime(datetime) => out.push((full_key, datetime.to_string())),
        }
    }
    Ok(())
}
