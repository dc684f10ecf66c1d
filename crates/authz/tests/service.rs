//! The decision point over a real database, run unchanged on SQLite (a temporary file) and
//! PostgreSQL (a fresh database per test at `GRIMOS_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`): revisions, consistency between two
//! servers, nested groups, roles, forgetting, list filtering in SQL, schema validation and
//! a policy's deny.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use authz::store::{self, RelationshipFilter, StoredPolicy};
use authz::{
    Authorizer, Authz, CheckRequest, Context, ListScope, ObjectRef, ObjectType, ReasonKind,
    Relationship, Revision, Subject, SubjectRef,
};
use chrono::{TimeZone, Utc};
use kernel::{Error, Role};
use storage::{Backend, Database, PoolSettings, sqlx, with_conn};

fn postgres_admin_url() -> String {
    std::env::var("GRIMOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, migrated database of one backend; a second connection to it opens a second
/// "server".
struct Fixture {
    db: Database,
    url: String,
    _dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

impl Fixture {
    async fn open(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, postgres_name) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("authz.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("grimos_authz_{}", kernel::new_id().replace('-', ""));
                let admin = Database::connect(&postgres_admin_url(), &PoolSettings::default())
                    .await
                    .expect("PostgreSQL at GRIMOS_TEST_POSTGRES_URL must be reachable");
                if let Database::Postgres(pool) = &admin {
                    sqlx::query(&format!("CREATE DATABASE {name}"))
                        .execute(pool)
                        .await
                        .unwrap();
                }
                admin.close().await;
                let base = postgres_admin_url();
                let base = base.rsplit_once('/').unwrap().0.to_owned();
                (format!("{base}/{name}"), Some(name))
            }
        };
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        Self {
            db,
            url,
            _dir: dir,
            postgres_name,
        }
    }

    /// Another pool on the same database: what a second server sees.
    async fn second_connection(&self) -> Database {
        Database::connect(&self.url, &PoolSettings::default())
            .await
            .unwrap()
    }

    async fn close(self) {
        self.db.close().await;
        if let Some(name) = self.postgres_name {
            let admin = Database::connect(&postgres_admin_url(), &PoolSettings::default())
                .await
                .unwrap();
            if let Database::Postgres(pool) = &admin {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            admin.close().await;
        }
    }
}

/// Run each listed `async fn(&Fixture)` on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::Fixture::open(storage::Backend::Sqlite).await;
                    super::$name(&fixture).await;
                    fixture.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::Fixture::open(storage::Backend::Postgres).await;
                    super::$name(&fixture).await;
                    fixture.close().await;
                }
            )*
        }
    };
}

on_both_backends!(
    writes_and_deletes_return_increasing_revisions,
    a_second_server_catches_up_and_honours_at_least,
    nested_groups_grant_until_a_membership_is_removed,
    the_member_role_sees_nothing_that_is_not_shared,
    the_credentials_role_replaces_stored_roles,
    forgetting_an_object_removes_every_relationship_touching_it,
    the_list_scope_selects_exactly_the_visible_rows,
    schema_validation_refuses_bad_tuples_and_writes_nothing,
    a_policy_deny_overrides_a_relationship_and_names_its_rule,
);

fn tuple(text: &str) -> Relationship {
    let (resource, subject) = text.split_once('@').unwrap();
    let (resource, relation) = resource.rsplit_once('#').unwrap();
    Relationship {
        resource: ObjectRef::parse(resource).unwrap(),
        relation: relation.to_owned(),
        subject: SubjectRef::parse(subject).unwrap(),
    }
}

fn tuples(texts: &[&str]) -> Vec<Relationship> {
    texts.iter().map(|text| tuple(text)).collect()
}

fn object(text: &str) -> ObjectRef {
    ObjectRef::parse(text).unwrap()
}

fn stored(user: &str) -> Subject {
    Subject::stored(SubjectRef::user(user))
}

fn as_role(user: &str, role: Role) -> Subject {
    Subject {
        principal: SubjectRef::user(user),
        role: Some(role),
    }
}

fn request(subject: Subject, action: &str, resource: &str) -> CheckRequest {
    CheckRequest {
        subject,
        action: action.to_owned(),
        resource: object(resource),
        context: Context::default(),
        at_least: None,
    }
}

async fn allowed(authz: &Authz, subject: Subject, action: &str, resource: &str) -> bool {
    authz
        .check(request(subject, action, resource))
        .await
        .unwrap()
        .allowed
}

async fn all_relationships(db: &Database) -> Vec<Relationship> {
    store::list_relationships(db, &RelationshipFilter::default(), None, 10_000)
        .await
        .unwrap()
}

async fn writes_and_deletes_return_increasing_revisions(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    let start = authz.snapshot().unwrap().revision();
    let first = authz
        .write(tuples(&["connector:c1#editor@user:ann"]), Vec::new(), None)
        .await
        .unwrap();
    let second = authz
        .write(
            tuples(&["connector:c1#viewer@user:bob"]),
            Vec::new(),
            Some("admin"),
        )
        .await
        .unwrap();
    let third = authz
        .write(
            Vec::new(),
            tuples(&["connector:c1#editor@user:ann"]),
            Some("admin"),
        )
        .await
        .unwrap();
    assert!(
        start < first && first < second && second < third,
        "{start} {first} {second} {third}"
    );
    assert_eq!(store::revision(&fixture.db).await.unwrap(), third);
    // The writer's own snapshot is at its last write.
    assert_eq!(authz.snapshot().unwrap().revision(), third);
    assert!(!allowed(&authz, stored("ann"), "edit", "connector:c1").await);
    assert!(allowed(&authz, stored("bob"), "view", "connector:c1").await);
    // Writing what exists is idempotent: still one tuple, and a later revision.
    let again = authz
        .write(tuples(&["connector:c1#viewer@user:bob"]), Vec::new(), None)
        .await
        .unwrap();
    assert!(again > third);
    assert_eq!(
        all_relationships(&fixture.db)
            .await
            .into_iter()
            .filter(|t| t.resource.kind == ObjectType::Connector)
            .count(),
        1
    );
    let decision = authz
        .check(request(stored("bob"), "view", "connector:c1"))
        .await
        .unwrap();
    assert_eq!(decision.revision, again);
}

async fn a_second_server_catches_up_and_honours_at_least(fixture: &Fixture) {
    let one = Authz::open(fixture.db.clone()).await.unwrap();
    let other_db = fixture.second_connection().await;
    let two = Authz::open(other_db.clone()).await.unwrap();

    let revision = one
        .write(tuples(&["flow:f1#operator@user:ann"]), Vec::new(), None)
        .await
        .unwrap();
    // The second server has not refreshed: without a revision it answers from its snapshot.
    assert!(two.snapshot().unwrap().revision() < revision);
    assert!(!allowed(&two, stored("ann"), "run", "flow:f1").await);
    // With the write's revision it catches up first.
    let mut fresh = request(stored("ann"), "run", "flow:f1");
    fresh.at_least = Some(revision);
    let decision = two.check(fresh).await.unwrap();
    assert!(decision.allowed, "{decision:?}");
    assert!(decision.revision >= revision);
    // A revision nobody wrote yet is refused, not waited for.
    let mut future = request(stored("ann"), "run", "flow:f1");
    future.at_least = Some(Revision(revision.0 + 1_000));
    let error = two.check(future).await.unwrap_err();
    assert_eq!(error.code(), "revision_unknown");

    // A delete on the second server reaches the first through refresh.
    let removed = two
        .write(Vec::new(), tuples(&["flow:f1#operator@user:ann"]), None)
        .await
        .unwrap();
    assert!(removed > revision);
    assert!(allowed(&one, stored("ann"), "run", "flow:f1").await);
    assert_eq!(one.refresh().await.unwrap(), removed);
    assert_eq!(one.snapshot().unwrap().revision(), removed);
    assert!(!allowed(&one, stored("ann"), "run", "flow:f1").await);
    // Attributes travel the same way.
    let attributes = serde_json::json!({"clearance": 4});
    let set = one
        .set_attributes(&object("user:ann"), &attributes)
        .await
        .unwrap();
    assert_eq!(two.refresh().await.unwrap(), set);
    assert_eq!(
        two.snapshot().unwrap().attributes(&object("user:ann")),
        Some(&attributes)
    );
    other_db.close().await;
}

async fn nested_groups_grant_until_a_membership_is_removed(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    authz
        .write(
            tuples(&[
                "connector:c1#editor@group:platform#member",
                "group:platform#member@group:sre#member",
                "group:sre#member@group:oncall#member",
                "group:oncall#member@user:ann",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let decision = authz
        .check(request(stored("ann"), "edit", "connector:c1"))
        .await
        .unwrap();
    assert!(decision.allowed);
    assert_eq!(decision.reasons.len(), 1);
    assert_eq!(decision.reasons[0].kind, ReasonKind::Relationship);
    assert_eq!(
        decision.reasons[0].path,
        [
            "connector:c1#editor",
            "group:platform#member",
            "group:sre#member",
            "group:oncall#member",
            "user:ann"
        ]
    );
    assert_eq!(
        decision.reasons[0].summary,
        "connector:c1#editor ← group:platform#member ← group:sre#member ← \
         group:oncall#member ← user:ann"
    );
    // editor grants view, not delete or manage.
    assert!(allowed(&authz, stored("ann"), "view", "connector:c1").await);
    assert!(!allowed(&authz, stored("ann"), "delete", "connector:c1").await);
    assert!(!allowed(&authz, stored("ann"), "manage", "connector:c1").await);
    assert!(!allowed(&authz, stored("bob"), "view", "connector:c1").await);

    let revision = authz
        .write(Vec::new(), tuples(&["group:oncall#member@user:ann"]), None)
        .await
        .unwrap();
    let mut after = request(stored("ann"), "edit", "connector:c1");
    after.at_least = Some(revision);
    let decision = authz.check(after).await.unwrap();
    assert!(!decision.allowed);
    assert_eq!(decision.revision, revision);
    assert_eq!(decision.reasons[0].kind, ReasonKind::NoGrant);
    // A cycle between groups terminates and grants nothing new.
    authz
        .write(
            tuples(&[
                "group:oncall#member@group:platform#member",
                "group:oncall#member@user:bob",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    assert!(allowed(&authz, stored("bob"), "edit", "connector:c1").await);
    assert!(!allowed(&authz, stored("ann"), "edit", "connector:c1").await);
}

async fn the_member_role_sees_nothing_that_is_not_shared(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    authz
        .write(
            tuples(&[
                "platform:grimos#member@user:mia",
                "connector:c1#owner@user:ann",
                "flow:f1#viewer@user:mia",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    for subject in [stored("mia"), as_role("mia", Role::Member)] {
        for (action, resource) in [
            ("view", "connector:c1"),
            ("view", "mapping:m1"),
            ("run", "flow:f1"),
            ("use", "secret:vault:secret/crm#token"),
            ("read", "platform:grimos"),
            ("create_connector", "platform:grimos"),
            ("manage_access", "platform:grimos"),
            ("view", "user:ann"),
        ] {
            assert!(
                !allowed(&authz, subject.clone(), action, resource).await,
                "{subject:?} {action} {resource}"
            );
        }
        // What is shared with them, and what any signed-in caller may do.
        assert!(allowed(&authz, subject.clone(), "view", "flow:f1").await);
        assert!(allowed(&authz, subject.clone(), "create_token", "platform:grimos").await);
        let scope = authz
            .scope(&subject, ObjectType::Connector, "view")
            .await
            .unwrap();
        assert!(matches!(scope, ListScope::Only { .. }), "{scope:?}");
    }
}

async fn the_credentials_role_replaces_stored_roles(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    authz
        .write(
            tuples(&[
                "platform:grimos#admin@user:ann",
                "connector:c2#editor@user:ann",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    // Stored: the admin role allows everything.
    assert!(allowed(&authz, stored("ann"), "delete", "connector:c1").await);
    assert!(allowed(&authz, stored("ann"), "manage_users", "platform:grimos").await);
    // A viewer token of the same user reads, and changes nothing the role would grant.
    let viewer = as_role("ann", Role::Viewer);
    let decision = authz
        .check(request(viewer.clone(), "view", "connector:c1"))
        .await
        .unwrap();
    assert!(decision.allowed);
    assert_eq!(decision.reasons[0].kind, ReasonKind::Role);
    assert_eq!(decision.reasons[0].path[0], "platform:grimos#viewer");
    assert!(!allowed(&authz, viewer.clone(), "edit", "connector:c1").await);
    assert!(!allowed(&authz, viewer.clone(), "manage_users", "platform:grimos").await);
    // A credential scoped below the user's stored role is read-only: the user's editor
    // relation still lets it see the connector, not change it.
    assert!(allowed(&authz, viewer.clone(), "view", "connector:c2").await);
    assert!(!allowed(&authz, viewer, "edit", "connector:c2").await);
    let member = as_role("ann", Role::Member);
    assert!(!allowed(&authz, member.clone(), "view", "connector:c1").await);
    assert!(allowed(&authz, member.clone(), "view", "connector:c2").await);
    assert!(!allowed(&authz, member.clone(), "edit", "connector:c2").await);
    // Roles held as members of a group, and groups holding roles, follow the credential:
    // a group that every operator belongs to counts for an operator token only.
    authz
        .write(
            tuples(&[
                "group:ops#member@platform:grimos#operator",
                "connector:c3#owner@group:ops#member",
                "platform:grimos#admin@group:admins#member",
                "group:admins#member@user:bob",
                "platform:grimos#operator@user:carl",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let operator = as_role("bob", Role::Operator);
    let decision = authz
        .check(request(operator.clone(), "manage", "connector:c3"))
        .await
        .unwrap();
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(
        decision.reasons[0].path,
        [
            "connector:c3#owner",
            "group:ops#member",
            "platform:grimos#operator",
            "user:bob"
        ]
    );
    assert!(
        !allowed(
            &authz,
            as_role("bob", Role::Viewer),
            "manage",
            "connector:c3"
        )
        .await
    );
    assert!(allowed(&authz, stored("bob"), "manage_users", "platform:grimos").await);
    assert!(!allowed(&authz, operator, "manage_users", "platform:grimos").await);
    // Carl is an operator; his member token does not reach the operators' group.
    assert!(allowed(&authz, stored("carl"), "manage", "connector:c3").await);
    assert!(
        !allowed(
            &authz,
            as_role("carl", Role::Member),
            "manage",
            "connector:c3"
        )
        .await
    );
    // The scope follows the credential too.
    assert_eq!(
        authz
            .scope(&stored("ann"), ObjectType::Connector, "view")
            .await
            .unwrap(),
        ListScope::All
    );
    match authz
        .scope(&member, ObjectType::Connector, "view")
        .await
        .unwrap()
    {
        ListScope::Only { holders, .. } => {
            assert!(holders.contains(&"user:ann".to_owned()), "{holders:?}");
            assert!(
                !holders.iter().any(|holder| holder.contains("#admin")),
                "{holders:?}"
            );
        }
        ListScope::All => panic!("a member token must not list every connector"),
    }
}

async fn forgetting_an_object_removes_every_relationship_touching_it(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    authz
        .write(
            tuples(&[
                "connector:c1#owner@user:ann",
                "connector:c1#viewer@group:sre#member",
                "connector:c2#viewer@group:sre#member",
                "group:sre#member@user:bob",
                "group:sre#manager@user:ann",
                "connector:c3#owner@user:ann",
            ]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    authz
        .set_attributes(
            &object("connector:c1"),
            &serde_json::json!({"classification": "restricted"}),
        )
        .await
        .unwrap();
    let before = authz.snapshot().unwrap().revision();
    let revision = authz.forget(&object("connector:c1")).await.unwrap();
    assert!(revision > before);
    assert!(!allowed(&authz, stored("ann"), "view", "connector:c1").await);
    assert!(!allowed(&authz, stored("bob"), "view", "connector:c1").await);
    assert!(allowed(&authz, stored("bob"), "view", "connector:c2").await);
    assert_eq!(
        authz
            .snapshot()
            .unwrap()
            .attributes(&object("connector:c1")),
        None
    );

    // Forgetting a group removes its members and every grant to its members.
    authz.forget(&object("group:sre")).await.unwrap();
    let left: BTreeSet<String> = all_relationships(&fixture.db)
        .await
        .iter()
        .filter(|t| t.resource.kind != ObjectType::Platform)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        left,
        BTreeSet::from(["connector:c3#owner@user:ann".to_owned()])
    );
    assert!(!allowed(&authz, stored("bob"), "view", "connector:c2").await);
    // A fresh server loads the same state.
    let reopened = Authz::open(fixture.db.clone()).await.unwrap();
    assert_eq!(
        reopened.snapshot().unwrap().revision(),
        authz.snapshot().unwrap().revision()
    );
    assert!(!allowed(&reopened, stored("bob"), "view", "connector:c2").await);
    assert!(allowed(&reopened, stored("ann"), "delete", "connector:c3").await);
}

async fn visible_ids(db: &Database, scope: &ListScope, after: &str) -> Result<Vec<String>, Error> {
    // `$1` is taken by the keyset, so the scope's placeholders start at 2.
    let (condition, binds) = scope.sql("things.id", 2);
    let sql = format!(
        "SELECT things.id FROM authz_test_things things WHERE things.id > $1 AND {condition} \
         ORDER BY things.id LIMIT 1000"
    );
    let ids: Vec<String> = with_conn!(db, |conn| {
        let mut query = sqlx::query_scalar(&sql).bind(after);
        for bind in &binds {
            query = query.bind(bind);
        }
        query
            .fetch_all(conn)
            .await
            .map_err(storage::map_sqlx_error)?
    });
    Ok(ids)
}

/// A table of objects, as a service's list query reads it.
async fn create_things(db: &Database, ids: &[String]) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query("CREATE TABLE authz_test_things (id TEXT PRIMARY KEY NOT NULL)")
            .execute(&mut *conn)
            .await
            .map_err(storage::map_sqlx_error)?;
        for id in ids {
            sqlx::query("INSERT INTO authz_test_things (id) VALUES ($1)")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(storage::map_sqlx_error)?;
        }
    });
    Ok(())
}

async fn the_list_scope_selects_exactly_the_visible_rows(fixture: &Fixture) {
    let db = &fixture.db;
    let ids: Vec<String> = (0..60).map(|n| format!("t{n:03}")).collect();
    create_things(db, &ids).await.unwrap();
    let authz = Authz::open(db.clone()).await.unwrap();
    let mut writes = vec![
        tuple("group:sre#member@group:oncall#member"),
        tuple("group:oncall#member@user:ann"),
        tuple("platform:grimos#member@user:ann"),
        tuple("platform:grimos#viewer@user:vic"),
    ];
    for (n, id) in ids.iter().enumerate() {
        let holder = match n % 6 {
            0 => "user:ann",
            1 => "group:sre#member",
            2 => "group:oncall#member",
            3 => "user:bob",
            4 => "group:other#member",
            _ => continue,
        };
        // Every fifth grant is an owner, the rest viewers; every seventh row is an object
        // of another type with the same id, which must not leak into the list.
        let relation = if n % 5 == 0 { "owner" } else { "viewer" };
        let kind = if n % 7 == 0 { "mapping" } else { "connector" };
        writes.push(tuple(&format!("{kind}:{id}#{relation}@{holder}")));
    }
    // A relation that does not grant view (there is none on connectors besides these), so
    // check `edit` too: viewers must drop out.
    authz.write(writes, Vec::new(), None).await.unwrap();

    for (subject, action) in [
        (stored("ann"), "view"),
        (stored("ann"), "edit"),
        (stored("bob"), "view"),
        (as_role("ann", Role::Member), "view"),
        (stored("vic"), "view"),
        (stored("nobody"), "view"),
    ] {
        let mut expected = Vec::new();
        for id in &ids {
            let resource = format!("connector:{id}");
            if allowed(&authz, subject.clone(), action, &resource).await {
                expected.push(id.clone());
            }
        }
        let scope = authz
            .scope(&subject, ObjectType::Connector, action)
            .await
            .unwrap();
        let found = visible_ids(db, &scope, "").await.unwrap();
        assert_eq!(found, expected, "{subject:?} {action}: {scope:?}");
        // The keyset page after the first visible id is the rest of the list.
        if let Some(first) = expected.first() {
            let rest = visible_ids(db, &scope, first).await.unwrap();
            assert_eq!(rest, expected[1..], "{subject:?} {action}");
        }
    }
    // The figures the loop compared are not trivially empty or full.
    let ann = authz
        .scope(&stored("ann"), ObjectType::Connector, "view")
        .await
        .unwrap();
    let ann_ids = visible_ids(db, &ann, "").await.unwrap();
    assert!(
        !ann_ids.is_empty() && ann_ids.len() < ids.len(),
        "{ann_ids:?}"
    );
    assert!(!ann_ids.contains(&"t000".to_owned()), "t000 is a mapping");
    assert!(ann_ids.contains(&"t001".to_owned()));
    assert!(!ann_ids.contains(&"t003".to_owned()), "bob's");
    let vic = authz
        .scope(&stored("vic"), ObjectType::Connector, "view")
        .await
        .unwrap();
    assert_eq!(vic, ListScope::All);
    assert_eq!(visible_ids(db, &vic, "").await.unwrap(), ids);
}

async fn schema_validation_refuses_bad_tuples_and_writes_nothing(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    let before = store::revision(&fixture.db).await.unwrap();
    let relationships_before = all_relationships(&fixture.db).await;
    let good = tuple("connector:c1#viewer@user:ann");
    let bad = [
        // no such relation on a connector
        Relationship {
            resource: object("connector:c1"),
            relation: "boss".into(),
            subject: SubjectRef::user("ann"),
        },
        // a connector's viewers are not a userset
        Relationship {
            resource: object("connector:c1"),
            relation: "viewer".into(),
            subject: SubjectRef::userset(object("connector:c2"), "viewer"),
        },
        // a group's usersets are its members only
        Relationship {
            resource: object("connector:c1"),
            relation: "viewer".into(),
            subject: SubjectRef::userset(object("group:sre"), "manager"),
        },
        // no such role
        Relationship {
            resource: object("connector:c1"),
            relation: "viewer".into(),
            subject: SubjectRef::userset(ObjectRef::platform(), "root"),
        },
        // a group inside itself
        tuple("group:sre#member@group:sre#member"),
        // users have no relations
        Relationship {
            resource: object("user:ann"),
            relation: "viewer".into(),
            subject: SubjectRef::user("bob"),
        },
    ];
    for bad in bad {
        let error = authz
            .write(vec![good.clone(), bad.clone()], Vec::new(), None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_relationship", "{bad}");
        assert_eq!(error.kind(), kernel::ErrorKind::Validation, "{bad}");
    }
    assert_eq!(store::revision(&fixture.db).await.unwrap(), before);
    assert_eq!(all_relationships(&fixture.db).await, relationships_before);
    assert!(!allowed(&authz, stored("ann"), "view", "connector:c1").await);
    // An unknown action is a validation error too, not a denial.
    let error = authz
        .check(request(stored("ann"), "fly", "connector:c1"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unknown_action");
}

const BUSINESS_HOURS: &str = r#"package grimos.policies.business_hours

deny contains msg if {
    "operator" in input.subject.roles
    input.action != "view"
    [hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
    not during_business_hours(hour)
    msg := sprintf("operators may not %s outside 09:00-17:00 UTC", [input.action])
}

during_business_hours(hour) if {
    hour >= 9
    hour < 17
}
"#;

async fn a_policy_deny_overrides_a_relationship_and_names_its_rule(fixture: &Fixture) {
    let authz = Authz::open(fixture.db.clone()).await.unwrap();
    authz
        .write(
            tuples(&["platform:grimos#operator@user:oli"]),
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let at = |hour| {
        let mut request = request(stored("oli"), "edit", "connector:c1");
        request.context.time = Some(Utc.with_ymd_and_hms(2025, 1, 6, hour, 30, 0).unwrap());
        request
    };
    assert!(authz.check(at(20)).await.unwrap().allowed);
    let now = Utc::now();
    let (_, revision) = store::save_policy(
        &fixture.db,
        &StoredPolicy {
            id: kernel::new_id(),
            name: "business_hours".into(),
            version: 1,
            source: BUSINESS_HOURS.into(),
            created_at: now,
            updated_at: now,
            created_by: None,
            updated_by: None,
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(authz.refresh().await.unwrap(), revision);
    let night = authz.check(at(20)).await.unwrap();
    assert!(!night.allowed, "{night:?}");
    assert_eq!(night.reasons[0].kind, ReasonKind::Policy);
    assert_eq!(night.reasons[0].policy.as_deref(), Some("business_hours"));
    assert_eq!(
        night.reasons[0].rule.as_deref(),
        Some("grimos.policies.business_hours.deny")
    );
    assert!(
        night.reasons[0]
            .summary
            .contains("operators may not edit outside 09:00-17:00 UTC"),
        "{night:?}"
    );
    // The grant is still named beside the denial.
    assert!(
        night
            .reasons
            .iter()
            .any(|reason| reason.kind == ReasonKind::Role),
        "{night:?}"
    );
    assert!(authz.check(at(10)).await.unwrap().allowed);
    let mut view = at(20);
    view.action = "view".into();
    assert!(authz.check(view).await.unwrap().allowed);
    // A policy never allows what no grant allows.
    let mut stranger = at(10);
    stranger.subject = stored("nobody");
    assert!(!authz.check(stranger).await.unwrap().allowed);
}

/// The decision point evaluates policies on an input built directly as regorus values; it
/// must be the very document `policy_input` describes (and dry runs show).
#[test]
fn the_policy_input_built_as_values_is_the_documented_one() {
    let mut graph = authz::graph::Graph::new(Revision(7));
    for text in [
        "platform:grimos#operator@user:ann",
        "group:sre#member@user:ann",
        "group:platform#member@group:sre#member",
        "group:ops#member@platform:grimos#viewer",
        "connector:c1#owner@user:bob",
        "connector:c1#editor@group:sre#member",
    ] {
        graph.insert(tuple(text));
    }
    graph.set_attributes(
        object("user:ann"),
        serde_json::json!({"clearance": 2, "teams": ["a", "b"], "score": 0.5}),
    );
    graph.set_attributes(
        object("connector:c1"),
        serde_json::json!({"classification": "restricted", "nested": {"x": null}}),
    );
    for subject in [
        stored("ann"),
        as_role("ann", Role::Viewer),
        as_role("ann", Role::Member),
        stored("nobody"),
    ] {
        for resource in ["connector:c1", "connector:c2", "platform:grimos"] {
            let mut request = request(subject.clone(), "edit", resource);
            request.context = Context {
                time: Some(Utc.with_ymd_and_hms(2025, 1, 6, 20, 0, 0).unwrap()),
                ip: Some("10.0.0.7".into()),
                request_id: None,
                extra: serde_json::json!({"tenant": "acme", "depth": 3})
                    .as_object()
                    .unwrap()
                    .clone(),
            };
            let path = ["connector:c1#editor".to_owned(), "user:ann".to_owned()];
            let documented = authz::service::policy_input(&graph, &request, &path);
            let built = authz::service::policy_input_value(&graph, &request, &path);
            assert_eq!(
                built,
                authz::policy::RegoValue::from(documented.clone()),
                "{subject:?} {resource}: {documented}"
            );
        }
    }
    let ann =
        authz::service::policy_input(&graph, &request(stored("ann"), "edit", "connector:c1"), &[]);
    assert_eq!(ann["subject"]["roles"], serde_json::json!(["operator"]));
    assert_eq!(
        ann["subject"]["groups"],
        serde_json::json!(["platform", "sre"])
    );
    assert_eq!(ann["resource"]["owner"], "user:bob");
    let viewer = authz::service::policy_input(
        &graph,
        &request(as_role("ann", Role::Viewer), "edit", "connector:c1"),
        &[],
    );
    assert_eq!(viewer["subject"]["roles"], serde_json::json!(["viewer"]));
    assert_eq!(
        viewer["subject"]["groups"],
        serde_json::json!(["ops", "platform", "sre"])
    );
}
