#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Data-driven cases for transforms, casts and expressions: one line per case.
//!
//! Each case is one rule writing `out`, a source record, and the expected result:
//! `=<json>` for the value of `out`, `absent` when `out` is not written, or `!<text>` for a
//! record error whose message contains `<text>`.

use mapping::{Mapping, MappingSpec};
use serde_json::{Value, json};

#[rustfmt::skip]
const CASES: &[(&str, &str, &str, &str)] = &[
    // name, rule (without target), record, expected
    ("source copies", r#"{"source":"a"}"#, r#"{"a":1}"#, "=1"),
    ("nested source path", r#"{"source":"address.country"}"#, r#"{"address":{"country":"FR"}}"#, r#"="FR""#),
    ("array index", r#"{"source":"items[0].sku"}"#, r#"{"items":[{"sku":"A1"},{"sku":"B2"}]}"#, r#"="A1""#),
    ("negative index", r#"{"source":"items[-1].sku"}"#, r#"{"items":[{"sku":"A1"},{"sku":"B2"}]}"#, r#"="B2""#),
    ("index out of range is missing", r#"{"source":"items[5]"}"#, r#"{"items":[1]}"#, "absent"),
    ("key with dots", r#"{"source":"meta[\"x.y\"]"}"#, r#"{"meta":{"x.y":7}}"#, "=7"),
    ("missing source is absent", r#"{"source":"nope"}"#, r#"{"a":1}"#, "absent"),
    ("null source stays null", r#"{"source":"a"}"#, r#"{"a":null}"#, "=null"),
    ("default when missing", r#"{"source":"a","default":"US"}"#, r#"{}"#, r#"="US""#),
    ("default when null", r#"{"source":"a","default":"US"}"#, r#"{"a":null}"#, r#"="US""#),
    ("default not used when present", r#"{"source":"a","default":"US"}"#, r#"{"a":"FR"}"#, r#"="FR""#),
    ("required missing fails", r#"{"source":"a","required":true}"#, r#"{}"#, "!value is missing"),
    ("coalesce first non-null", r#"{"coalesce":["a","b","c"]}"#, r#"{"a":null,"c":3,"b":2}"#, "=2"),
    ("coalesce all missing", r#"{"coalesce":["a","b"]}"#, r#"{}"#, "absent"),
    ("constant", r#"{"constant":{"k":[1,2]}}"#, r#"{}"#, r#"={"k":[1,2]}"#),
    ("concat with separator", r#"{"concat":{"sources":["f","l"],"separator":" "}}"#, r#"{"f":"Ada","l":"Lovelace"}"#, r#"="Ada Lovelace""#),
    ("concat skips nulls", r#"{"concat":{"sources":["f","m","l"],"separator":"-"}}"#, r#"{"f":"a","m":null,"l":1}"#, r#"="a-1""#),
    ("concat of an object fails", r#"{"concat":{"sources":["f"]}}"#, r#"{"f":{}}"#, "!cannot concat `f`"),
    ("trim", r#"{"source":"a","transform":["trim"]}"#, r#"{"a":"  x y \n"}"#, r#"="x y""#),
    ("lower unicode", r#"{"source":"a","transform":["lower"]}"#, r#"{"a":"ÉCOLE Ünïcode"}"#, r#"="école ünïcode""#),
    ("upper unicode expands", r#"{"source":"a","transform":["upper"]}"#, r#"{"a":"straße"}"#, r#"="STRASSE""#),
    ("trim then lower", r#"{"source":"a","transform":["trim","lower"]}"#, r#"{"a":" Ada@Example.COM "}"#, r#"="ada@example.com""#),
    ("lower of a number fails", r#"{"source":"a","transform":["lower"]}"#, r#"{"a":5}"#, "!transform 0 (lower): lower expects a string, got 5"),
    ("lower passes null", r#"{"source":"a","transform":["lower"]}"#, r#"{"a":null}"#, "=null"),
    ("split", r#"{"source":"a","transform":[{"split":","}]}"#, r#"{"a":"x,y,,z"}"#, r#"=["x","y","","z"]"#),
    ("split then trim each", r#"{"source":"a","transform":[{"split":","},"trim"]}"#, r#"{"a":"x , y"}"#, r#"=["x","y"]"#),
    ("lookup hit", r#"{"source":"a","transform":[{"lookup":{"table":{"M":"male","F":"female"}}}]}"#, r#"{"a":"F"}"#, r#"="female""#),
    ("lookup number key", r#"{"source":"a","transform":[{"lookup":{"table":{"1":"one"}}}]}"#, r#"{"a":1}"#, r#"="one""#),
    ("lookup fallback", r#"{"source":"a","transform":[{"lookup":{"table":{"M":"male"},"fallback":"unknown"}}]}"#, r#"{"a":"X"}"#, r#"="unknown""#),
    ("lookup miss without fallback", r#"{"source":"a","transform":[{"lookup":{"table":{"M":"male"}}}]}"#, r#"{"a":"X"}"#, "!no lookup entry for \"X\""),
    ("regex extract group", r#"{"source":"a","transform":[{"regex_extract":{"pattern":"(\\d+)-(\\d+)","group":2}}]}"#, r#"{"a":"tel 555-1234"}"#, r#"="1234""#),
    ("regex extract shorthand", r#"{"source":"a","transform":[{"regex_extract":"@(.+)$"}]}"#, r#"{"a":"ada@example.com"}"#, r#"="example.com""#),
    ("regex extract no match is null", r#"{"source":"a","transform":[{"regex_extract":"(\\d+)"}]}"#, r#"{"a":"none"}"#, "=null"),
    ("regex replace", r#"{"source":"a","transform":[{"regex_replace":{"pattern":"[^0-9]","replacement":""}}]}"#, r#"{"a":"+1 (555) 12"}"#, r#"="155512""#),
    ("regex replace groups", r#"{"source":"a","transform":[{"regex_replace":{"pattern":"(\\w+) (\\w+)","replacement":"$2 $1"}}]}"#, r#"{"a":"Ada Lovelace"}"#, r#"="Lovelace Ada""#),
    ("hash sha256", r#"{"source":"a","transform":["hash"]}"#, r#"{"a":"abc"}"#, r#"="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
    ("hash with salt", r#"{"source":"a","transform":[{"hash":{"salt":"a"}}]}"#, r#"{"a":"bc"}"#, r#"="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
    ("hash null stays null", r#"{"source":"a","transform":["hash"]}"#, r#"{"a":null}"#, "=null"),
    // casts
    ("int from string", r#"{"source":"a","cast":"int"}"#, r#"{"a":" 42 "}"#, "=42"),
    ("int from integral float", r#"{"source":"a","cast":"int"}"#, r#"{"a":3.0}"#, "=3"),
    ("int from decimal string", r#"{"source":"a","cast":"int"}"#, r#"{"a":"12.00"}"#, "=12"),
    ("int rejects fraction", r#"{"source":"a","cast":"int"}"#, r#"{"a":1.5}"#, "!cannot cast 1.5 to int: it has a fractional part"),
    ("int rejects text", r#"{"source":"a","cast":"int"}"#, r#"{"a":"abc"}"#, r#"!cannot cast "abc" to int"#),
    ("int rejects overflow", r#"{"source":"a","cast":"int"}"#, r#"{"a":"99999999999999999999"}"#, "!out of the 64-bit integer range"),
    ("int rejects bool", r#"{"source":"a","cast":"int"}"#, r#"{"a":true}"#, "!cannot cast true to int"),
    ("int of null is null", r#"{"source":"a","cast":"int"}"#, r#"{"a":null}"#, "=null"),
    ("float from string", r#"{"source":"a","cast":"float"}"#, r#"{"a":"2.5"}"#, "=2.5"),
    ("float rejects nan", r#"{"source":"a","cast":"float"}"#, r#"{"a":"NaN"}"#, "!not a finite number"),
    ("decimal exact", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":"12345678901234567890.12"}"#, r#"="12345678901234567890.12""#),
    ("decimal keeps scale", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":"12.50"}"#, r#"="12.50""#),
    ("decimal from float number", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":0.1}"#, r#"="0.1""#),
    ("decimal from scientific", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":"1.5e3"}"#, r#"="1500""#),
    ("decimal too many digits", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":"1.23456789012345678901234567890123"}"#, "!more than 28 significant digits"),
    ("decimal rejects text", r#"{"source":"a","cast":"decimal"}"#, r#"{"a":"12,5"}"#, r#"!cannot cast "12,5" to decimal"#),
    ("bool from yes", r#"{"source":"a","cast":"bool"}"#, r#"{"a":"Yes"}"#, "=true"),
    ("bool from 0", r#"{"source":"a","cast":"bool"}"#, r#"{"a":0}"#, "=false"),
    ("bool rejects 2", r#"{"source":"a","cast":"bool"}"#, r#"{"a":2}"#, "!only 0 and 1 are booleans"),
    ("string from number", r#"{"source":"a","cast":"string"}"#, r#"{"a":12.5}"#, r#"="12.5""#),
    ("string rejects array", r#"{"source":"a","cast":"string"}"#, r#"{"a":[1]}"#, "!cannot cast an array to string"),
    ("date iso", r#"{"source":"a","cast":"date"}"#, r#"{"a":"2024-02-29"}"#, r#"="2024-02-29""#),
    ("date invalid day", r#"{"source":"a","cast":"date"}"#, r#"{"a":"2023-02-29"}"#, "!cannot cast \"2023-02-29\" to date"),
    ("date with format", r#"{"source":"a","cast":"date","format":"%d/%m/%Y"}"#, r#"{"a":"31/12/2024"}"#, r#"="2024-12-31""#),
    ("date format mismatch", r#"{"source":"a","cast":"date","format":"%d/%m/%Y"}"#, r#"{"a":"2024-12-31"}"#, "!does not match the format"),
    ("date of rfc3339 in zone", r#"{"source":"a","cast":"date","timezone":"Asia/Tokyo"}"#, r#"{"a":"2024-03-10T20:00:00Z"}"#, r#"="2024-03-11""#),
    ("timestamp rfc3339 to utc", r#"{"source":"a","cast":"timestamp"}"#, r#"{"a":"2024-03-10T09:30:00+02:00"}"#, r#"="2024-03-10T07:30:00Z""#),
    ("timestamp naive in zone", r#"{"source":"a","cast":"timestamp","timezone":"America/New_York"}"#, r#"{"a":"2024-07-01 12:00:00"}"#, r#"="2024-07-01T16:00:00Z""#),
    ("timestamp naive winter zone", r#"{"source":"a","cast":"timestamp","timezone":"Europe/Paris"}"#, r#"{"a":"2024-01-15T08:00:00"}"#, r#"="2024-01-15T07:00:00Z""#),
    ("timestamp format and zone", r#"{"source":"a","cast":"timestamp","format":"%d/%m/%Y %H:%M","timezone":"Europe/Paris"}"#, r#"{"a":"14/07/2024 09:15"}"#, r#"="2024-07-14T07:15:00Z""#),
    ("timestamp format with offset", r#"{"source":"a","cast":"timestamp","format":"%Y%m%d %H%M%S %z"}"#, r#"{"a":"20240101 000000 +0100"}"#, r#"="2023-12-31T23:00:00Z""#),
    ("timestamp dst gap", r#"{"source":"a","cast":"timestamp","timezone":"Europe/Paris"}"#, r#"{"a":"2024-03-31 02:30:00"}"#, "!does not exist in Europe/Paris"),
    ("timestamp dst fold takes earliest", r#"{"source":"a","cast":"timestamp","timezone":"Europe/Paris"}"#, r#"{"a":"2024-10-27 02:30:00"}"#, r#"="2024-10-27T00:30:00Z""#),
    ("timestamp from epoch", r#"{"source":"a","cast":"timestamp"}"#, r#"{"a":1700000000}"#, r#"="2023-11-14T22:13:20Z""#),
    ("timestamp fractional epoch", r#"{"source":"a","cast":"timestamp"}"#, r#"{"a":1.5}"#, r#"="1970-01-01T00:00:01.500Z""#),
    ("timestamp rejects bool", r#"{"source":"a","cast":"timestamp"}"#, r#"{"a":false}"#, "!cannot cast false to timestamp"),
    ("timestamp rejects garbage", r#"{"source":"a","cast":"timestamp"}"#, r#"{"a":"yesterday"}"#, "!expected RFC 3339"),
    ("transform then cast", r#"{"source":"a","transform":[{"regex_extract":"(\\d+)"}],"cast":"int"}"#, r#"{"a":"order #77"}"#, "=77"),
    // expressions and conditions (CEL)
    ("expr concat", r#"{"expr":"record.first + ' ' + record.last"}"#, r#"{"first":"Ada","last":"Lovelace"}"#, r#"="Ada Lovelace""#),
    ("expr arithmetic", r#"{"expr":"record.qty * record.price"}"#, r#"{"qty":3,"price":2}"#, "=6"),
    ("expr ternary", r#"{"expr":"record.age >= 18 ? 'adult' : 'minor'"}"#, r#"{"age":12}"#, r#"="minor""#),
    ("expr macro over list", r#"{"expr":"record.items.map(i, i.price).filter(p, p > 5)"}"#, r#"{"items":[{"price":3},{"price":9}]}"#, "=[9]"),
    ("expr has() on missing", r#"{"expr":"has(record.nick) ? record.nick : 'none'"}"#, r#"{}"#, r#"="none""#),
    ("expr strings extension", r#"{"expr":"record.tags.join(',')"}"#, r#"{"tags":["a","b"]}"#, r#"="a,b""#),
    ("expr builds object", r#"{"expr":"{'n': size(record.s)}"}"#, r#"{"s":"abc"}"#, r#"={"n":3}"#),
    ("expr missing key fails", r#"{"expr":"record.nope + 1"}"#, r#"{}"#, "!expression failed: No such key: nope"),
    ("expr type error fails", r#"{"expr":"record.a + 1"}"#, r#"{"a":"x"}"#, "!expression failed"),
    ("expr division by zero", r#"{"expr":"record.a / 0"}"#, r#"{"a":1}"#, "!expression failed"),
    ("when true uses then", r#"{"when":"record.vip","then":"gold","else":"standard"}"#, r#"{"vip":true}"#, r#"="gold""#),
    ("when false uses else", r#"{"when":"record.vip","then":"gold","else":"standard"}"#, r#"{"vip":false}"#, r#"="standard""#),
    ("when false without else", r#"{"when":"record.total > 100","source":"total"}"#, r#"{"total":5}"#, "absent"),
    ("when true runs source", r#"{"when":"record.total > 100","source":"total","cast":"string"}"#, r#"{"total":500}"#, r#"="500""#),
    ("when false then default", r#"{"when":"false","then":1,"default":0}"#, r#"{}"#, "=0"),
    ("when non-bool fails", r#"{"when":"record.a","then":1}"#, r#"{"a":"yes"}"#, "!not a boolean"),
    // nested rules
    ("nested object from root", r#"{"rules":[{"target":"city","source":"c"},{"target":"zip","source":"z","cast":"string"}]}"#, r#"{"c":"Lyon","z":69001}"#, r#"={"city":"Lyon","zip":"69001"}"#),
    ("nested array of objects", r#"{"source":"items","rules":[{"target":"sku","source":"id","transform":["upper"]},{"target":"qty","source":"n","cast":"int"}]}"#, r#"{"items":[{"id":"a1","n":"2"},{"id":"b2","n":1}]}"#, r#"=[{"sku":"A1","qty":2},{"sku":"B2","qty":1}]"#),
    ("nested array error names item", r#"{"source":"items","rules":[{"target":"qty","source":"n","cast":"int"}]}"#, r#"{"items":[{"n":1},{"n":"x"}]}"#, "!cannot cast \"x\" to int"),
    ("nested array with expr per item", r#"{"source":"items","rules":[{"target":"total","expr":"record.n * 2"}]}"#, r#"{"items":[{"n":1},{"n":4}]}"#, r#"=[{"total":2},{"total":8}]"#),
    ("nested source not array", r#"{"source":"items","rules":[{"target":"x","source":"y"}]}"#, r#"{"items":"nope"}"#, "!not an array or object"),
    ("nested missing source absent", r#"{"source":"items","rules":[{"target":"x","source":"y"}]}"#, r#"{}"#, "absent"),
    ("nested item not object", r#"{"source":"items","rules":[{"target":"x","source":"y"}]}"#, r#"{"items":[{},3]}"#, "!item 1 of `items` is 3, not an object"),
];

fn rule_spec(rule: &str) -> MappingSpec {
    let mut rule: Value = serde_json::from_str(rule).unwrap();
    rule.as_object_mut()
        .unwrap()
        .insert("target".into(), json!("out"));
    MappingSpec::from_json_value(json!({ "rules": [rule] })).unwrap()
}

#[test]
fn every_case_maps_as_expected() {
    let mut failures = Vec::new();
    for (name, rule, record, expected) in CASES {
        let spec = rule_spec(rule);
        let mapping = match Mapping::compile(&spec) {
            Ok(mapping) => mapping,
            Err(errors) => {
                failures.push(format!("{name}: does not compile: {errors:?}"));
                continue;
            }
        };
        let record: Value = serde_json::from_str(record).unwrap();
        let result = mapping.apply_value(&record);
        let ok = match (&result, *expected) {
            (Ok(output), "absent") => output.get("out").is_none(),
            (Ok(output), expected) if expected.starts_with('=') => {
                let want: Value = serde_json::from_str(&expected[1..]).unwrap();
                output.get("out") == Some(&want)
            }
            (Err(errors), expected) if expected.starts_with('!') => errors.iter().any(|e| {
                e.rule == 0 && e.target.starts_with("out") && e.message.contains(&expected[1..])
            }),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {expected}, got {result:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn nested_errors_name_the_item_target() {
    let spec =
        rule_spec(r#"{"source":"items","rules":[{"target":"qty","source":"n","cast":"int"}]}"#);
    let mapping = Mapping::compile(&spec).unwrap();
    let errors = mapping
        .apply_value(&json!({"items": [{"n": 1}, {"n": "x"}]}))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].rule, 0);
    assert_eq!(errors[0].target, "out[1].qty");
    assert_eq!(errors[0].message, "cannot cast \"x\" to int");
}

#[test]
fn all_rule_errors_of_a_record_are_reported() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "a", "source": "a", "cast": "int"},
        {"target": "b", "source": "b"},
        {"target": "c", "source": "c", "cast": "date"},
    ]}))
    .unwrap();
    let mapping = Mapping::compile(&spec).unwrap();
    let errors = mapping
        .apply_value(&json!({"a": "x", "b": 1, "c": "never"}))
        .unwrap_err();
    let rules: Vec<_> = errors.iter().map(|e| (e.rule, e.target.as_str())).collect();
    assert_eq!(rules, vec![(0, "a"), (2, "c")]);
}

#[test]
fn nested_targets_build_objects() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "billing.city", "source": "city"},
        {"target": "billing.zip", "source": "zip"},
        {"target": "billing.geo.lat", "constant": 1.5},
    ]}))
    .unwrap();
    let output = Mapping::compile(&spec)
        .unwrap()
        .apply_value(&json!({"city": "Lyon", "zip": "69001"}))
        .unwrap();
    assert_eq!(
        output,
        json!({"billing": {"city": "Lyon", "zip": "69001", "geo": {"lat": 1.5}}})
    );
}

#[test]
fn writing_inside_a_scalar_target_is_a_record_error() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "billing", "constant": "flat"},
        {"target": "billing.city", "constant": "Lyon"},
    ]}))
    .unwrap();
    let errors = Mapping::compile(&spec)
        .unwrap()
        .apply_value(&json!({}))
        .unwrap_err();
    assert_eq!(errors[0].rule, 1);
    assert!(errors[0].message.contains("not an object"), "{errors:?}");
}

#[test]
fn yaml_specs_read_like_json_ones() {
    let yaml = r#"
rules:
  - { target: customer_id, source: id, cast: int }
  - { target: email, source: email, transform: [trim, lower] }
  - { target: full_name, expr: "record.first + ' ' + record.last" }
  - { target: country, source: address.country, default: "US" }
  - target: tier
    source: code
    transform:
      - lookup: { table: { G: gold }, fallback: basic }
"#;
    let value: Value = serde_norway::from_str(yaml).unwrap();
    let spec = MappingSpec::from_json_value(value).unwrap();
    let output = Mapping::compile(&spec)
        .unwrap()
        .apply_value(
            &json!({"id": "7", "email": " A@B.C ", "first": "Ada", "last": "L", "code": "G"}),
        )
        .unwrap();
    assert_eq!(
        output,
        json!({"customer_id": 7, "email": "a@b.c", "full_name": "Ada L", "country": "US", "tier": "gold"})
    );
    // and the spec serializes back to the same shape
    let round_trip: MappingSpec =
        serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(round_trip, spec);
}

#[test]
fn compiled_mapping_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mapping::CompiledMapping>();
}
