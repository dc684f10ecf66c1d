//! The schema tables of docs/authorization.md are generated from `authz::schema::SCHEMA`: a
//! relation or action added, removed or regranted without the document fails here.
//! `UPDATE_SNAPSHOTS=1 cargo test -p authz --test schema_doc` rewrites them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use authz::schema::SCHEMA;

const BEGIN: &str = "<!-- schema-table";
const END: &str = "<!-- /schema-table -->";

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "—".to_owned()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn render() -> String {
    let mut out = String::new();
    out.push_str("**Relations** (who may hold them: users, service principals, `group:<id>#member`, `platform:grimos#<role>`)\n\n");
    out.push_str("| type | relation | meaning |\n|---|---|---|\n");
    for schema in SCHEMA {
        for relation in schema.relations {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                schema.kind, relation.name, relation.meaning
            ));
        }
    }
    out.push_str("\n**Actions** (granted by a relation on the object itself, or by a role on every object of the type)\n\n");
    out.push_str(
        "| type | action | relations that grant it | roles that grant it | meaning |\n\
         |---|---|---|---|---|\n",
    );
    for schema in SCHEMA {
        for permission in schema.permissions {
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} | {} |\n",
                schema.kind,
                permission.action,
                list(permission.relations),
                list(permission.roles),
                permission.meaning
            ));
        }
    }
    out
}

#[test]
fn the_schema_tables_of_the_document_are_generated_from_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/authorization.md");
    let doc = std::fs::read_to_string(&path).expect("docs/authorization.md");
    let begin = doc.find(BEGIN).expect("begin marker");
    let begin = begin + doc[begin..].find('\n').expect("marker line") + 1;
    let end = doc.find(END).expect("end marker");
    let expected = render();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        if doc[begin..end] != expected {
            std::fs::write(
                &path,
                format!("{}{}{}", &doc[..begin], expected, &doc[end..]),
            )
            .expect("write docs/authorization.md");
        }
        return;
    }
    assert!(
        doc[begin..end] == expected,
        "the schema tables of docs/authorization.md differ from authz::schema::SCHEMA; run \
         UPDATE_SNAPSHOTS=1 cargo test -p authz --test schema_doc\nexpected:\n{expected}"
    );
}
