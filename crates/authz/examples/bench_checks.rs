//! In-process decisions per second on one thread, for the mixed workload of issue 11, and
//! the same decisions from a straightforward reference evaluator.
//!
//! Workload (deterministic, seeded): 1,000 users with roles (5 % admin, 10 % operator, 20 %
//! viewer, 5 % service, the rest member), 100 groups nested 3 deep (10 → 30 → 60; a leaf's
//! members are members of its parent and grandparent; two groups hold every operator or
//! viewer, one group is given the operator role), 10,000 objects (4,000 connectors, 4,000
//! flows, 2,000 mappings), each with an owner and about half with a grant to a group or a
//! user, user clearances 0–5, 10 % of the objects `restricted`, and one Rego policy with two
//! attribute rules: restricted resources need clearance ≥ 3, operators change nothing
//! outside 09:00–17:00 UTC (from `context.time`). Requests mix actions on objects and on the
//! platform, stored roles and credential roles, times across the day.
//!
//! The tuples go through `authz::store::write` into a temporary SQLite database and the
//! decision point is opened from it with `Authz::open`, as a server does. Timed, on a
//! current-thread runtime: `Authorizer::check` (the trait every service calls), and
//! `Authz::decide` against the snapshot; then the same decisions without the policy, to
//! show what the policy costs.
//!
//! The reference evaluator knows nothing of the graph's indexes or caches: a flat `Vec` of
//! tuples scanned from scratch, usersets expanded by recursion, the schema table read
//! directly (a credential's role replacing stored roles; a credential scoped below the
//! user's stored roles counting, beyond `view`, only grants made to its role), and the two
//! policy rules written in plain Rust. It must give the same
//! decisions (allowed, and whether a refusal is "no grant" or a policy denial) on 100,000
//! requests; the example exits with an error on any mismatch.
//!
//! `cargo run --release -p authz --example bench_checks [requests] [runs] [compared]`
//! (defaults 200,000, 5 and 100,000; `compared` 0 skips the reference, e.g. to profile).

use std::time::{Duration, Instant};

use authz::policy::PolicySet;
use authz::schema;
use authz::store::{self, StoredPolicy};
use authz::{
    Authorizer, Authz, CheckRequest, Context, Decision, ObjectRef, ObjectType, ReasonKind,
    Relationship, Subject, SubjectRef,
};
use chrono::{TimeZone, Timelike, Utc};
use kernel::Role;
use serde_json::{Value, json};
use storage::{Database, PoolSettings, sqlx, with_tx};

/// The allocator of the grimos binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USERS: usize = 1_000;
const GROUPS: usize = 100;
const CONNECTORS: usize = 4_000;
const FLOWS: usize = 4_000;
const MAPPINGS: usize = 2_000;
/// Requests compared with the reference evaluator, by default.
const COMPARED: usize = 100_000;

const POLICY: &str = r#"package grimos.policies.bench

deny contains "restricted data needs clearance 3 or more" if {
    input.resource.attributes.classification == "restricted"
    object.get(input.subject.attributes, "clearance", 0) < 3
}

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

/// splitmix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn tuple(resource: ObjectRef, relation: &str, subject: SubjectRef) -> Relationship {
    Relationship {
        resource,
        relation: relation.to_owned(),
        subject,
    }
}

fn user(n: usize) -> SubjectRef {
    SubjectRef::user(format!("u{n:04}"))
}

fn group(n: usize) -> ObjectRef {
    ObjectRef::new(ObjectType::Group, format!("g{n:03}"))
}

fn members(n: usize) -> SubjectRef {
    SubjectRef::userset(group(n), "member")
}

fn role_userset(role: &str) -> SubjectRef {
    SubjectRef::userset(ObjectRef::platform(), role)
}

/// The objects, in a fixed order.
fn objects() -> Vec<ObjectRef> {
    let mut objects = Vec::with_capacity(CONNECTORS + FLOWS + MAPPINGS);
    objects
        .extend((0..CONNECTORS).map(|n| ObjectRef::new(ObjectType::Connector, format!("c{n:05}"))));
    objects.extend((0..FLOWS).map(|n| ObjectRef::new(ObjectType::Flow, format!("f{n:05}"))));
    objects.extend((0..MAPPINGS).map(|n| ObjectRef::new(ObjectType::Mapping, format!("m{n:05}"))));
    objects
}

struct Workload {
    tuples: Vec<Relationship>,
    /// (object, attributes)
    attributes: Vec<(ObjectRef, Value)>,
    objects: Vec<ObjectRef>,
}

fn workload(rng: &mut Rng) -> Workload {
    let mut tuples = Vec::new();
    // Roles.
    for n in 0..USERS {
        let role = match rng.below(100) {
            0..5 => "admin",
            5..15 => "operator",
            15..35 => "viewer",
            35..40 => "service",
            _ => "member",
        };
        tuples.push(tuple(ObjectRef::platform(), role, user(n)));
    }
    // Groups nested 3 deep: g000–g009 roots, g010–g039 below them, g040–g099 leaves.
    for child in 10..40 {
        tuples.push(tuple(group((child - 10) / 3), "member", members(child)));
    }
    for child in 40..100 {
        tuples.push(tuple(
            group(10 + (child - 40) / 2),
            "member",
            members(child),
        ));
    }
    // Users in one or two groups, mostly leaves.
    for n in 0..USERS {
        let count = 1 + rng.below(2);
        for _ in 0..count {
            let g = if rng.chance(85) {
                40 + rng.below(60)
            } else {
                rng.below(40)
            };
            tuples.push(tuple(group(g), "member", user(n)));
        }
    }
    // Usersets of roles inside groups, and a group holding a role.
    tuples.push(tuple(group(7), "member", role_userset("operator")));
    tuples.push(tuple(group(95), "member", role_userset("viewer")));
    tuples.push(tuple(ObjectRef::platform(), "operator", members(33)));
    // Objects: an owner each, grants to groups and users.
    let objects = objects();
    let mut attributes = Vec::new();
    for object in &objects {
        tuples.push(tuple(object.clone(), "owner", user(rng.below(USERS))));
        let relations: &[&str] = if object.kind == ObjectType::Flow {
            &["viewer", "operator", "editor"]
        } else {
            &["viewer", "editor"]
        };
        if rng.chance(40) {
            let relation = relations[rng.below(relations.len())];
            tuples.push(tuple(object.clone(), relation, members(rng.below(GROUPS))));
        }
        if rng.chance(20) {
            let relation = relations[rng.below(relations.len())];
            tuples.push(tuple(object.clone(), relation, user(rng.below(USERS))));
        }
        if rng.chance(10) {
            attributes.push((object.clone(), json!({"classification": "restricted"})));
        } else if rng.chance(10) {
            attributes.push((object.clone(), json!({"classification": "internal"})));
        }
    }
    for n in 0..USERS {
        if rng.chance(90) {
            attributes.push((
                user(n).object,
                json!({"clearance": rng.below(6), "team": format!("t{}", n % 7)}),
            ));
        }
    }
    Workload {
        tuples,
        attributes,
        objects,
    }
}

fn requests(rng: &mut Rng, objects: &[ObjectRef], count: usize) -> Vec<CheckRequest> {
    const PLATFORM_ACTIONS: [&str; 5] = [
        "read",
        "create_connector",
        "create_flow",
        "manage_users",
        "create_token",
    ];
    (0..count)
        .map(|_| {
            let principal = user(rng.below(USERS));
            let role = if rng.chance(15) {
                Some(Role::ALL[rng.below(Role::ALL.len())])
            } else {
                None
            };
            let (action, resource) = if rng.chance(5) {
                (
                    PLATFORM_ACTIONS[rng.below(PLATFORM_ACTIONS.len())],
                    ObjectRef::platform(),
                )
            } else {
                let object = objects[rng.below(objects.len())].clone();
                let action = match (object.kind, rng.below(20)) {
                    (_, 0..10) => "view",
                    (_, 10..15) => "edit",
                    (_, 15..17) => "delete",
                    (_, 17) => "manage",
                    (ObjectType::Flow, _) => "run",
                    (ObjectType::Connector, _) => "test",
                    _ => "view",
                };
                (action, object)
            };
            let time = Utc
                .with_ymd_and_hms(2025, 1, 6, 0, 0, 0)
                .single()
                .unwrap_or_default()
                + chrono::Duration::seconds(rng.below(86_400) as i64);
            CheckRequest {
                subject: Subject { principal, role },
                action: action.to_owned(),
                resource,
                context: Context {
                    time: Some(time),
                    ip: Some("10.0.0.7".into()),
                    request_id: None,
                    extra: serde_json::Map::new(),
                },
                at_least: None,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The reference evaluator.

/// A tuple as text, scanned linearly.
struct Flat {
    resource: String,
    relation: String,
    subject: String,
}

struct Reference {
    tuples: Vec<Flat>,
    attributes: Vec<(String, Value)>,
}

/// What the reference decides: allowed, or refused for want of a grant, or denied by the
/// policy (with how many denials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    NoGrant,
    Denied(usize),
}

impl Reference {
    fn new(workload: &Workload) -> Self {
        Self {
            tuples: workload
                .tuples
                .iter()
                .map(|t| Flat {
                    resource: t.resource.to_string(),
                    relation: t.relation.clone(),
                    subject: t.subject.to_string(),
                })
                .collect(),
            attributes: workload
                .attributes
                .iter()
                .map(|(object, value)| (object.to_string(), value.clone()))
                .collect(),
        }
    }

    /// Is `principal` in the userset `resource#relation`? With a credential role, the
    /// principal's stored roles do not count; the credential's role userset does.
    fn member(
        &self,
        principal: &str,
        role: Option<&str>,
        resource: &str,
        relation: &str,
        visiting: &mut Vec<String>,
    ) -> bool {
        if resource == "platform:grimos"
            && let Some(role) = role
        {
            return relation == role;
        }
        let key = format!("{resource}#{relation}");
        if visiting.contains(&key) {
            return false;
        }
        visiting.push(key);
        let found = self.tuples.iter().any(|t| {
            t.resource == resource
                && t.relation == relation
                && self.holds(principal, role, &t.subject, visiting)
        });
        visiting.pop();
        found
    }

    /// Does the subject text `holder` include `principal`?
    fn holds(
        &self,
        principal: &str,
        role: Option<&str>,
        holder: &str,
        visiting: &mut Vec<String>,
    ) -> bool {
        if holder == principal {
            return true;
        }
        match holder.rsplit_once('#') {
            Some((object, relation)) => self.member(principal, role, object, relation, visiting),
            None => false,
        }
    }

    /// Does the subject text `holder` include the role userset `platform:grimos#<role>`
    /// (directly or through groups)?
    fn through_role(&self, role: &str, holder: &str, visiting: &mut Vec<String>) -> bool {
        let Some((object, relation)) = holder.rsplit_once('#') else {
            return false;
        };
        if object == "platform:grimos" {
            return relation == role;
        }
        if visiting.iter().any(|seen| seen == holder) {
            return false;
        }
        visiting.push(holder.to_owned());
        let found = self.tuples.iter().any(|t| {
            t.resource == object
                && t.relation == relation
                && self.through_role(role, &t.subject, visiting)
        });
        visiting.pop();
        found
    }

    fn attribute(&self, object: &str, name: &str) -> Value {
        self.attributes
            .iter()
            .find(|(key, _)| key == object)
            .and_then(|(_, value)| value.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn decide(&self, request: &CheckRequest) -> Outcome {
        let resource = request.resource.to_string();
        let principal = request.subject.principal.to_string();
        let role = request.subject.role.map(Role::as_str);
        let Some(permission) = schema::SCHEMA
            .iter()
            .find(|s| s.kind == request.resource.kind)
            .and_then(|s| s.permissions.iter().find(|p| p.action == request.action))
        else {
            return Outcome::NoGrant;
        };
        let mut visiting = Vec::new();
        let by_role = permission.roles.iter().any(|granting| {
            self.member(&principal, role, "platform:grimos", granting, &mut visiting)
        });
        // A credential whose role the principal does not hold while it holds others (a
        // viewer token of an admin) is scoped down: beyond `view`, only grants made to the
        // credential's role count.
        let restricted = role.is_some_and(|role| {
            let stored: Vec<&str> = schema::ROLES
                .iter()
                .copied()
                .filter(|held| {
                    self.member(&principal, None, "platform:grimos", held, &mut visiting)
                })
                .collect();
            !stored.is_empty() && !stored.contains(&role)
        });
        let role_grants_only = restricted && request.action != "view";
        // The relations of `platform:grimos` are the roles themselves.
        let on_platform = resource == "platform:grimos";
        let by_relationship = by_role
            || (on_platform
                && permission.relations.iter().any(|relation| {
                    self.member(&principal, role, &resource, relation, &mut visiting)
                }))
            || !on_platform
                && self.tuples.iter().any(|t| {
                    t.resource == resource
                        && permission.relations.contains(&t.relation.as_str())
                        && if role_grants_only {
                            self.through_role(role.unwrap_or_default(), &t.subject, &mut visiting)
                        } else {
                            self.holds(&principal, role, &t.subject, &mut visiting)
                        }
                });
        if !by_relationship {
            return Outcome::NoGrant;
        }
        // The policy, in plain Rust.
        let mut denials = 0;
        let classification = self.attribute(&resource, "classification");
        let clearance = self
            .attribute(&principal, "clearance")
            .as_i64()
            .unwrap_or(0);
        if classification == "restricted" && clearance < 3 {
            denials += 1;
        }
        let operator = match role {
            Some(role) => role == "operator",
            None => self.member(
                &principal,
                None,
                "platform:grimos",
                "operator",
                &mut visiting,
            ),
        };
        let hour = request.context.time.map_or(12, |time| time.hour());
        if operator && request.action != "view" && !(9..17).contains(&hour) {
            denials += 1;
        }
        if denials == 0 {
            Outcome::Allowed
        } else {
            Outcome::Denied(denials)
        }
    }
}

fn outcome(decision: &Decision) -> Outcome {
    if decision.allowed {
        return Outcome::Allowed;
    }
    let denials = decision
        .reasons
        .iter()
        .filter(|reason| reason.kind == ReasonKind::Policy)
        .count();
    if denials == 0 {
        Outcome::NoGrant
    } else {
        Outcome::Denied(denials)
    }
}

// ---------------------------------------------------------------------------------------

/// Attributes straight into their table (one transaction), before the service opens.
async fn insert_attributes(
    db: &Database,
    attributes: &[(ObjectRef, Value)],
) -> Result<(), kernel::Error> {
    with_tx!(db, |tx| {
        for (object, value) in attributes {
            sqlx::query(
                "INSERT INTO authz_attributes (object_type, object_id, attributes, \
                 updated_revision) VALUES ($1, $2, $3, 1)",
            )
            .bind(object.kind.as_str())
            .bind(&object.id)
            .bind(value.to_string())
            .execute(&mut *tx)
            .await
            .map_err(storage::map_sqlx_error)?;
        }
        Ok::<_, kernel::Error>(())
    })
}

async fn open(workload: &Workload, dir: &std::path::Path) -> Result<Authz, String> {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    store::write(&db, &workload.tuples, &[], Some("bench"))
        .await
        .map_err(|e| e.to_string())?;
    insert_attributes(&db, &workload.attributes)
        .await
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    store::save_policy(
        &db,
        &StoredPolicy {
            id: kernel::new_id(),
            name: "bench".into(),
            version: 1,
            source: POLICY.into(),
            created_at: now,
            updated_at: now,
            created_by: None,
            updated_by: None,
        },
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    Authz::open(db).await.map_err(|e| e.to_string())
}

/// Wall time and this thread's CPU time since a start: on a shared machine the CPU time is
/// what "one core" measures (other processes' time is not counted), the wall time what a
/// caller waits.
struct Timer {
    wall: Instant,
    cpu: Option<u64>,
}

/// Nanoseconds this thread ran on a CPU (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Timer {
    fn start() -> Self {
        Self {
            cpu: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    /// (per wall second, per CPU second of this thread — the wall figure when unknown).
    fn rates(&self, count: usize) -> (f64, f64) {
        let wall = rate(count, self.wall.elapsed());
        let cpu = match (self.cpu, thread_cpu_ns()) {
            (Some(start), Some(end)) if end > start => {
                rate(count, Duration::from_nanos(end - start))
            }
            _ => wall,
        };
        (wall, cpu)
    }

    /// Per CPU second of this thread.
    fn cpu_rate(&self, count: usize) -> f64 {
        self.rates(count).1
    }
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() -> Result<(), String> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
        .max(1);
    let compared: usize = std::env::args()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(COMPARED);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut rng = Rng(0x5EED_0011);
    let workload = workload(&mut rng);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let authz = runtime.block_on(open(&workload, dir.path()))?;
    let graph = authz.snapshot().map_err(|e| e.to_string())?;
    let policies = authz.policies().map_err(|e| e.to_string())?;
    println!(
        "workload: {USERS} users, {GROUPS} groups nested 3 deep, {} objects, {} tuples, {} \
         attribute sets, policy backend {} ({} deny rules); stored and loaded in {:.1} s",
        workload.objects.len(),
        graph.len(),
        workload.attributes.len(),
        policies.backend().as_str(),
        policies.deny_rule_count(),
        started.elapsed().as_secs_f64()
    );
    let requests = requests(&mut rng, &workload.objects, count.max(compared));

    // Warm-up: fills the snapshot's membership cache and the policy worker pool.
    for request in requests.iter().take(20_000) {
        authz.decide(&graph, request).map_err(|e| e.to_string())?;
    }

    let mut check_rates = Vec::new();
    let mut decide_rates = Vec::new();
    for run in 1..=runs {
        let batch = requests.clone();
        let start = Timer::start();
        let allowed = runtime.block_on(async {
            let mut allowed = 0usize;
            for request in batch {
                if authz
                    .check(request)
                    .await
                    .map_err(|e| e.to_string())?
                    .allowed
                {
                    allowed += 1;
                }
            }
            Ok::<_, String>(allowed)
        })?;
        let check = start.rates(requests.len());
        let start = Timer::start();
        for request in &requests {
            authz.decide(&graph, request).map_err(|e| e.to_string())?;
        }
        let decide = start.rates(requests.len());
        println!(
            "run {run}: Authorizer::check {:>7.0}/s CPU ({:>7.0}/s wall), Authz::decide \
             {:>7.0}/s CPU ({:>7.0}/s wall) ({} requests, {:.1} % allowed, one thread)",
            check.1,
            check.0,
            decide.1,
            decide.0,
            requests.len(),
            100.0 * allowed as f64 / requests.len() as f64
        );
        check_rates.push(check.1);
        decide_rates.push(decide.1);
    }

    // What the policy costs: the same decisions without it.
    let empty = PolicySet::empty();
    // The policy input built as JSON and converted for regorus (as the decision point did
    // before it built regorus values directly), for comparison in the same run.
    let start = Timer::start();
    for request in &requests {
        let decision =
            authz::service::decide(&graph, &empty, request).map_err(|e| e.to_string())?;
        if decision.allowed {
            let input = authz::service::policy_input(&graph, request, &decision.reasons[0].path);
            std::hint::black_box(policies.denials(&input).map_err(|e| e.to_string())?);
        }
    }
    let through_json = start.cpu_rate(requests.len());
    let start = Timer::start();
    for request in &requests {
        authz::service::decide(&graph, &empty, request).map_err(|e| e.to_string())?;
    }
    let without_policy = start.cpu_rate(requests.len());
    // And the policy alone, on the inputs of the allowed decisions.
    let mut inputs = Vec::new();
    for request in requests.iter().take(50_000) {
        let decision =
            authz::service::decide(&graph, &empty, request).map_err(|e| e.to_string())?;
        if decision.allowed {
            inputs.push(authz::service::policy_input(
                &graph,
                request,
                &decision.reasons[0].path,
            ));
        }
    }
    let start = Timer::start();
    for input in &inputs {
        std::hint::black_box(policies.denials(input).map_err(|e| e.to_string())?);
    }
    let policy_only = start.cpu_rate(inputs.len());
    // The evaluation itself, on inputs already converted to regorus values.
    let values = inputs
        .iter()
        .map(|input| authz::policy::RegoValue::from_json_str(&input.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let start = Timer::start();
    for value in &values {
        std::hint::black_box(
            policies
                .denials_value(value.clone())
                .map_err(|e| e.to_string())?,
        );
    }
    let evaluation_only = start.cpu_rate(values.len());
    let start = Timer::start();
    for (request, _) in requests.iter().zip(0..50_000) {
        std::hint::black_box(authz::service::policy_input(&graph, request, &[]));
    }
    let input_only = start.cpu_rate(50_000);
    let start = Timer::start();
    for (request, _) in requests.iter().zip(0..50_000) {
        std::hint::black_box(authz::service::policy_input_value(&graph, request, &[]));
    }
    let value_input_only = start.cpu_rate(50_000);

    // One write: committed, then applied to a copy of the snapshot (as every write is).
    let mut writes = Vec::new();
    for n in 0..20 {
        let start = Instant::now();
        runtime
            .block_on(authz.write(
                vec![tuple(
                    ObjectRef::new(ObjectType::Connector, format!("written{n}")),
                    "viewer",
                    user(n),
                )],
                Vec::new(),
                Some("bench"),
            ))
            .map_err(|e| e.to_string())?;
        writes.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    writes.sort_by(f64::total_cmp);
    let write_ms = writes[writes.len() / 2];

    // The reference evaluator.
    let reference = Reference::new(&workload);
    let start = Instant::now();
    let mut mismatches = 0usize;
    let mut shown = 0usize;
    let mut tally = [0usize; 3];
    for request in requests.iter().take(compared) {
        let expected = reference.decide(request);
        let decision = authz.decide(&graph, request).map_err(|e| e.to_string())?;
        let got = outcome(&decision);
        tally[match expected {
            Outcome::Allowed => 0,
            Outcome::NoGrant => 1,
            Outcome::Denied(_) => 2,
        }] += 1;
        if got != expected {
            mismatches += 1;
            if shown < 10 {
                shown += 1;
                println!(
                    "MISMATCH {:?} {} {}: reference {expected:?}, decision point {got:?} ({})",
                    request.subject,
                    request.action,
                    request.resource,
                    decision.summary()
                );
            }
        }
    }
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    println!(
        "median of {runs}, per second of this thread's CPU: Authorizer::check {:.0} decisions/s, \
         Authz::decide {:.0} decisions/s (target >= 250,000)",
        median(&mut check_rates),
        median(&mut decide_rates)
    );
    println!(
        "per CPU second: with the policy input built as JSON {through_json:.0} decisions/s; \
         without the policy {without_policy:.0} decisions/s; the policy alone (regorus, {} \
         allowed inputs): {policy_only:.0} evaluations/s from JSON, {evaluation_only:.0}/s from \
         regorus values; building the input: {input_only:.0}/s as JSON, {value_input_only:.0}/s as \
         regorus values (subject part cached per snapshot)",
        inputs.len()
    );
    println!(
        "one relationship write (SQLite commit, then the {}-tuple snapshot copied and \
         changed): {write_ms:.1} ms median of 20",
        graph.len()
    );
    println!(
        "reference evaluator: {compared} requests in {:.1} s ({} allowed, {} no grant, {} \
         denied by the policy): {mismatches} mismatches",
        start.elapsed().as_secs_f64(),
        tally[0],
        tally[1],
        tally[2]
    );
    if mismatches > 0 {
        return Err(format!(
            "{mismatches} decisions differ from the reference evaluator"
        ));
    }
    Ok(())
}
