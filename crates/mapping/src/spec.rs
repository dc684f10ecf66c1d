//! The serde model of a mapping, as callers store it (JSON or YAML).
//!
//! ```yaml
//! rules:
//!   - { target: customer_id, source: id, cast: int }
//!   - { target: email, source: email, transform: [trim, lower] }
//!   - { target: full_name, expr: "record.first + ' ' + record.last" }
//!   - { target: country, source: address.country, default: "US" }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::MappingError;

/// A mapping: rules applied in order to each source record to build one target record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The rules, each writing one target field.
    pub rules: Vec<RuleSpec>,
}

impl MappingSpec {
    /// Reads a spec from any JSON value (a YAML document parsed into a `serde_json::Value`
    /// works too), reporting a shape error with the JSON Pointer where it was found.
    pub fn from_json_value(value: Value) -> Result<Self, Vec<MappingError>> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let pointer = pointer_of(error.path());
            let rule = rule_of(&pointer);
            vec![MappingError::new(rule, pointer, error.inner().to_string())]
        })
    }
}

/// One rule: where the value comes from, what happens to it, and where it goes.
///
/// The value comes from exactly one of `source`, `coalesce`, `concat`, `constant`, `expr`
/// (or `then`/`else` with `when`, or only nested `rules`). It then goes through `default`
/// (when missing or null), the `transform` steps in order, then `cast`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The target field path (`email`, `billing.city`); nested objects are created.
    pub target: String,
    /// The source field path (`address.country`, `items[0].sku`, `meta["a.b"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The first non-null value of several source paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coalesce: Option<Vec<String>>,
    /// Several sources joined into one string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concat: Option<ConcatSpec>,
    /// A constant value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    /// A CEL expression evaluated with the source record bound to `record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// The value used when the source is missing or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Transform steps applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transform: Vec<TransformSpec>,
    /// The final type conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast: Option<CastType>,
    /// The input format of a `date`/`timestamp` cast (chrono strftime, e.g. `%d/%m/%Y %H:%M`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The IANA time zone of zone-less input of a `date`/`timestamp` cast (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// A CEL condition: the rule applies only when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// With `when`: the value written when the condition is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Value>,
    /// With `when`: the value written when the condition is false (otherwise nothing is).
    #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<Value>,
    /// Nested rules: applied to each element when `source` is an array (producing an array
    /// of objects), to the source object when it is an object, or to the current record
    /// when there is no `source` (producing a nested object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleSpec>>,
    /// When true, a missing or null result is a record error instead of an absent field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

/// Several sources joined with a separator; missing and null parts are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcatSpec {
    /// The source paths.
    pub sources: Vec<String>,
    /// Put between parts (default: none).
    #[serde(default)]
    pub separator: String,
}

/// The target type of a cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CastType {
    /// Text.
    String,
    /// A 64-bit integer.
    #[serde(alias = "integer")]
    Int,
    /// A 64-bit float.
    #[serde(alias = "number", alias = "double")]
    Float,
    /// An exact decimal, written as a JSON string (e.g. `"12345678901234567890.12"`).
    Decimal,
    /// `true`/`false`.
    #[serde(alias = "boolean")]
    Bool,
    /// A calendar date, written `YYYY-MM-DD`.
    Date,
    /// An instant, written in RFC 3339 in UTC (`2024-03-10T07:30:00Z`).
    Timestamp,
}

impl CastType {
    /// The name used in specs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Float => "float",
            Self::Decimal => "decimal",
            Self::Bool => "bool",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        }
    }
}

/// One transform step. Written as a name (`trim`) or a one-key object (`{split: ","}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub enum TransformSpec {
    /// `trim`: removes leading and trailing white space.
    Trim,
    /// `lower`: Unicode lower case.
    Lower,
    /// `upper`: Unicode upper case.
    Upper,
    /// `{split: ","}`: a string into an array of strings.
    Split {
        /// The separator.
        separator: String,
    },
    /// `{lookup: {table: {...}, fallback: ...}}`: replaces a value by its table entry.
    Lookup {
        /// Keys are the string form of the input value.
        table: Map<String, Value>,
        /// Used when the value is not in the table; without it that is a record error.
        fallback: Option<Value>,
    },
    /// `{regex_extract: {pattern: "...", group: 1}}` (or `{regex_extract: "pattern"}`):
    /// the capture group of the first match, null when nothing matches.
    RegexExtract {
        /// The regular expression (`regex` crate syntax).
        pattern: String,
        /// The capture group (default 1; 0 is the whole match).
        group: usize,
    },
    /// `{regex_replace: {pattern: "...", replacement: "..."}}`: replaces every match
    /// (`$1` refers to a group).
    RegexReplace {
        /// The regular expression.
        pattern: String,
        /// The replacement.
        replacement: String,
    },
    /// `hash` or `{hash: {salt: "..."}}`: SHA-256 hex of `salt + value`.
    Hash {
        /// A constant prefix mixed into the hash.
        salt: Option<String>,
    },
}

impl TryFrom<Value> for TransformSpec {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let (name, arguments) = match value {
            Value::String(name) => (name, Value::Null),
            Value::Object(map) if map.len() == 1 => match map.into_iter().next() {
                Some((name, arguments)) => (name, arguments),
                None => return Err("a transform object needs one key".into()),
            },
            other => {
                return Err(format!(
                    "a transform is a name (`trim`) or an object with one key (`{{split: \",\"}}`), got {other}"
                ));
            }
        };
        let string_argument = |key: &str| -> Result<Option<String>, String> {
            match arguments.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(other) => Err(format!("`{name}.{key}` must be a string, got {other}")),
            }
        };
        match name.as_str() {
            "trim" => Ok(Self::Trim),
            "lower" => Ok(Self::Lower),
            "upper" => Ok(Self::Upper),
            "split" => match arguments {
                Value::String(separator) => Ok(Self::Split { separator }),
                _ => Err("`split` takes its separator: `{split: \",\"}`".into()),
            },
            "lookup" => {
                let table = match arguments.get("table") {
                    Some(Value::Object(table)) => table.clone(),
                    _ => return Err("`lookup` needs `table`: an object of key to value".into()),
                };
                if let Some(extra) = arguments
                    .as_object()
                    .and_then(|m| m.keys().find(|k| *k != "table" && *k != "fallback"))
                {
                    return Err(format!(
                        "unknown `lookup` key `{extra}` (use table, fallback)"
                    ));
                }
                Ok(Self::Lookup {
                    table,
                    fallback: arguments.get("fallback").cloned(),
                })
            }
            "regex_extract" => match &arguments {
                Value::String(pattern) => Ok(Self::RegexExtract {
                    pattern: pattern.clone(),
                    group: 1,
                }),
                _ => {
                    let pattern =
                        string_argument("pattern")?.ok_or("`regex_extract` needs `pattern`")?;
                    let group = match arguments.get("group") {
                        None => 1,
                        Some(group) => group
                            .as_u64()
                            .and_then(|g| usize::try_from(g).ok())
                            .ok_or("`regex_extract.group` must be a non-negative integer")?,
                    };
                    Ok(Self::RegexExtract { pattern, group })
                }
            },
            "regex_replace" => Ok(Self::RegexReplace {
                pattern: string_argument("pattern")?.ok_or("`regex_replace` needs `pattern`")?,
                replacement: string_argument("replacement")?
                    .ok_or("`regex_replace` needs `replacement`")?,
            }),
            "hash" => Ok(Self::Hash {
                salt: string_argument("salt")?,
            }),
            other => Err(format!(
                "unknown transform `{other}` (known: trim, lower, upper, split, lookup, regex_extract, regex_replace, hash)"
            )),
        }
    }
}

impl From<TransformSpec> for Value {
    fn from(spec: TransformSpec) -> Self {
        use serde_json::json;
        match spec {
            TransformSpec::Trim => json!("trim"),
            TransformSpec::Lower => json!("lower"),
            TransformSpec::Upper => json!("upper"),
            TransformSpec::Split { separator } => json!({ "split": separator }),
            TransformSpec::Lookup { table, fallback } => match fallback {
                Some(fallback) => json!({"lookup": {"table": table, "fallback": fallback}}),
                None => json!({"lookup": {"table": table}}),
            },
            TransformSpec::RegexExtract { pattern, group } => {
                json!({"regex_extract": {"pattern": pattern, "group": group}})
            }
            TransformSpec::RegexReplace {
                pattern,
                replacement,
            } => json!({"regex_replace": {"pattern": pattern, "replacement": replacement}}),
            TransformSpec::Hash { salt: None } => json!("hash"),
            TransformSpec::Hash { salt: Some(salt) } => json!({"hash": {"salt": salt}}),
        }
    }
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&escape_pointer_token(key));
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

fn rule_of(pointer: &str) -> Option<usize> {
    pointer
        .strip_prefix("/rules/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|index| index.parse().ok())
}

/// Escapes one JSON Pointer reference token (`~` → `~0`, `/` → `~1`).
pub(crate) fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
