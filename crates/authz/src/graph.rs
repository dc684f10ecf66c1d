//! The relationship graph in memory: one immutable snapshot per revision, indexed both
//! ways, answering checks with the path that allowed them.
//!
//! A principal's memberships (the usersets it belongs to, through nested groups, and the
//! roles it holds) are computed once per snapshot and cached, so a check is a handful of
//! hash lookups: the roles that grant the action, then the tuples on the object.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use kernel::{Error, ErrorKind, Role};
use serde_json::Value;

use crate::model::{ObjectRef, ObjectType, Relationship, Revision, SubjectRef};
use crate::policy::RegoValue;
use crate::schema::{self, Permission};

/// Who a decision is about: a principal, and — for an authenticated call — the role its
/// credential carries, which then replaces every role the principal holds through stored
/// relationships (a token never acts with more than its own role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `user:…` or `service:…`.
    pub principal: SubjectRef,
    /// The role of the credential, when the subject is the caller.
    pub role: Option<Role>,
}

impl Subject {
    /// A subject whose roles come from stored relationships only.
    pub fn stored(principal: SubjectRef) -> Self {
        Self {
            principal,
            role: None,
        }
    }
}

/// Why the relationships allowed (or did not allow) an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Allowed through a chain of relationships, from the object to the principal:
    /// `["flow:42#viewer", "group:sre#member", "user:ann"]`.
    Path(Vec<String>),
    /// Nothing grants it.
    None,
}

impl Grant {
    /// Whether it allows.
    pub fn allows(&self) -> bool {
        matches!(self, Grant::Path(_))
    }
}

/// The usersets a principal belongs to, each with the step it was reached through.
#[derive(Debug, Default)]
pub struct Memberships {
    via: HashMap<SubjectRef, SubjectRef>,
    /// The roles among the usersets (bit `i`: `schema::ROLES[i]`), to test without hashing.
    roles: u8,
    /// The policies' `input.subject` for this principal and credential role, built once.
    document: OnceLock<RegoValue>,
    /// The credential's role is not one the principal holds through stored relationships
    /// (a viewer token of an admin): relationships then grant only `view`.
    restricted: bool,
}

impl Memberships {
    /// Whether the credential was scoped below the principal's stored roles, so that its
    /// relationships grant only `view` (a read-only token of a user who owns things).
    pub fn restricted(&self) -> bool {
        self.restricted
    }

    /// Whether the principal holds the role `role` (a relation on `platform:grimos`).
    pub fn holds_role(&self, role: &str) -> bool {
        role_bit(role).is_some_and(|bit| self.roles & bit != 0)
    }

    /// Whether the principal belongs to `userset`.
    pub fn contains(&self, userset: &SubjectRef) -> bool {
        self.via.contains_key(userset)
    }

    /// The usersets, in no particular order.
    pub fn usersets(&self) -> impl Iterator<Item = &SubjectRef> {
        self.via.keys()
    }

    /// `userset ← … ← principal`, as text.
    fn chain(&self, userset: &SubjectRef, principal: &SubjectRef) -> Vec<String> {
        let mut chain = vec![userset.to_string()];
        let mut current = userset;
        while let Some(previous) = self.via.get(current) {
            chain.push(previous.to_string());
            if previous == principal || chain.len() > 64 {
                break;
            }
            current = previous;
        }
        chain
    }
}

/// One immutable state of every relationship and attribute.
#[derive(Debug, Default)]
pub struct Graph {
    revision: Revision,
    by_object: HashMap<ObjectRef, Vec<(String, SubjectRef)>>,
    by_subject: HashMap<SubjectRef, Vec<(ObjectRef, String)>>,
    /// Secret objects written as a prefix (`vault:secret/crm/*`), without the `*`.
    secret_prefixes: Vec<String>,
    attributes: HashMap<ObjectRef, Value>,
    /// The same attributes as the policies read them (converted once, shared by clones).
    rego_attributes: HashMap<ObjectRef, RegoValue>,
    /// Per principal, its memberships with its stored roles (slot 0) and under each
    /// credential role (slot 1 + the role's index in `Role::ALL`).
    memberships: Mutex<HashMap<SubjectRef, MembershipSlots>>,
}

type MembershipSlots = [Option<Arc<Memberships>>; Role::ALL.len() + 1];

fn slot(role: Option<Role>) -> usize {
    role.and_then(|role| Role::ALL.iter().position(|known| *known == role))
        .map_or(0, |index| index + 1)
}

impl Clone for Graph {
    fn clone(&self) -> Self {
        Self {
            revision: self.revision,
            by_object: self.by_object.clone(),
            by_subject: self.by_subject.clone(),
            secret_prefixes: self.secret_prefixes.clone(),
            attributes: self.attributes.clone(),
            rego_attributes: self.rego_attributes.clone(),
            memberships: Mutex::default(),
        }
    }
}

/// The error of an action the object type does not have.
pub fn unknown_action(kind: ObjectType, action: &str) -> Error {
    let actions: Vec<&str> = schema::of(kind)
        .permissions
        .iter()
        .map(|permission| permission.action)
        .collect();
    Error::new(
        ErrorKind::Validation,
        "unknown_action",
        format!(
            "a {kind} has no action {action:?}; its actions are: {}",
            actions.join(", ")
        ),
    )
}

/// The permission for `action` on objects of `kind`.
pub fn permission_for(kind: ObjectType, action: &str) -> Result<&'static Permission, Error> {
    schema::of(kind)
        .permission(action)
        .ok_or_else(|| unknown_action(kind, action))
}

impl Graph {
    /// An empty graph at `revision`.
    pub fn new(revision: Revision) -> Self {
        Self {
            revision,
            ..Self::default()
        }
    }

    /// The revision this snapshot reflects.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// Set the revision (after applying the changes up to it).
    pub fn set_revision(&mut self, revision: Revision) {
        self.revision = revision;
    }

    /// Number of relationships.
    pub fn len(&self) -> usize {
        self.by_object.values().map(Vec::len).sum()
    }

    /// Whether there are no relationships.
    pub fn is_empty(&self) -> bool {
        self.by_object.is_empty()
    }

    /// Add a relationship (no-op when present).
    pub fn insert(&mut self, tuple: Relationship) {
        let entry = self.by_object.entry(tuple.resource.clone()).or_default();
        if entry
            .iter()
            .any(|(relation, subject)| *relation == tuple.relation && *subject == tuple.subject)
        {
            return;
        }
        entry.push((tuple.relation.clone(), tuple.subject.clone()));
        if tuple.resource.kind == ObjectType::Secret
            && let Some(prefix) = tuple.resource.id.strip_suffix('*')
            && !self.secret_prefixes.iter().any(|known| known == prefix)
        {
            self.secret_prefixes.push(prefix.to_owned());
        }
        self.by_subject
            .entry(tuple.subject)
            .or_default()
            .push((tuple.resource, tuple.relation));
    }

    /// Remove a relationship (no-op when absent).
    pub fn remove(&mut self, tuple: &Relationship) {
        if let Some(entry) = self.by_object.get_mut(&tuple.resource) {
            entry.retain(|(relation, subject)| {
                !(*relation == tuple.relation && *subject == tuple.subject)
            });
            if entry.is_empty() {
                self.by_object.remove(&tuple.resource);
                if tuple.resource.kind == ObjectType::Secret
                    && let Some(prefix) = tuple.resource.id.strip_suffix('*')
                {
                    self.secret_prefixes.retain(|known| known != prefix);
                }
            }
        }
        if let Some(entry) = self.by_subject.get_mut(&tuple.subject) {
            entry.retain(|(resource, relation)| {
                !(*resource == tuple.resource && *relation == tuple.relation)
            });
            if entry.is_empty() {
                self.by_subject.remove(&tuple.subject);
            }
        }
    }

    /// Replace the attributes of `object` (`Value::Null` removes them).
    pub fn set_attributes(&mut self, object: ObjectRef, attributes: Value) {
        if attributes.is_null() {
            self.rego_attributes.remove(&object);
            self.attributes.remove(&object);
        } else {
            self.rego_attributes
                .insert(object.clone(), RegoValue::from(attributes.clone()));
            self.attributes.insert(object, attributes);
        }
    }

    /// The attributes of `object` (an empty object when none are set).
    pub fn attributes(&self, object: &ObjectRef) -> Option<&Value> {
        self.attributes.get(object)
    }

    /// The attributes of `object` as the policies read them.
    pub fn rego_attributes(&self, object: &ObjectRef) -> Option<&RegoValue> {
        self.rego_attributes.get(object)
    }

    /// The policies' `input.subject` for `subject`: `{id, kind, roles, groups,
    /// attributes}` (built once per snapshot, principal and credential role).
    pub fn subject_document(&self, subject: &Subject) -> RegoValue {
        let memberships = self.memberships_for(subject);
        memberships
            .document
            .get_or_init(|| {
                let (roles, groups) = roles_and_groups(subject, &memberships);
                let strings = |items: Vec<String>| {
                    RegoValue::from(items.into_iter().map(RegoValue::from).collect::<Vec<_>>())
                };
                let mut document = BTreeMap::new();
                document.insert(
                    RegoValue::from("id"),
                    RegoValue::from(subject.principal.to_string()),
                );
                document.insert(
                    RegoValue::from("kind"),
                    RegoValue::from(subject.principal.object.kind.as_str()),
                );
                document.insert(RegoValue::from("roles"), strings(roles));
                document.insert(RegoValue::from("groups"), strings(groups));
                document.insert(
                    RegoValue::from("attributes"),
                    self.rego_attributes(&subject.principal.object)
                        .cloned()
                        .unwrap_or_else(RegoValue::new_object),
                );
                RegoValue::from(document)
            })
            .clone()
    }

    /// The relationships on `object`.
    pub fn relationships_of<'a>(
        &'a self,
        object: &'a ObjectRef,
    ) -> impl Iterator<Item = Relationship> + 'a {
        self.by_object
            .get(object)
            .into_iter()
            .flatten()
            .map(|(relation, subject)| Relationship {
                resource: object.clone(),
                relation: relation.clone(),
                subject: subject.clone(),
            })
    }

    /// The subjects holding `relation` on `object`, directly.
    pub fn holders<'a>(
        &'a self,
        object: &ObjectRef,
        relation: &'a str,
    ) -> impl Iterator<Item = &'a SubjectRef> + 'a {
        self.by_object
            .get(object)
            .into_iter()
            .flatten()
            .filter(move |(held, _)| held == relation)
            .map(|(_, subject)| subject)
    }

    /// The usersets `principal` belongs to through stored relationships, its stored roles
    /// included (cached per snapshot).
    pub fn memberships(&self, principal: &SubjectRef) -> Arc<Memberships> {
        self.memberships_with(principal, None)
    }

    /// The usersets that count for `subject`: with a credential role, the principal's
    /// stored roles (and whatever it reaches only through them) are left out and the
    /// credential's role userset — and the groups it is a member of — put in (cached per
    /// snapshot).
    pub fn memberships_for(&self, subject: &Subject) -> Arc<Memberships> {
        self.memberships_with(&subject.principal, subject.role)
    }

    fn memberships_with(&self, principal: &SubjectRef, role: Option<Role>) -> Arc<Memberships> {
        let slot = slot(role);
        if let Ok(cache) = self.memberships.lock()
            && let Some(found) = cache.get(principal).and_then(|slots| slots[slot].as_ref())
        {
            return found.clone();
        }
        let computed = Arc::new(self.compute_memberships(principal, role));
        if let Ok(mut cache) = self.memberships.lock() {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.entry(principal.clone()).or_default()[slot] = Some(computed.clone());
        }
        computed
    }

    fn compute_memberships(&self, principal: &SubjectRef, role: Option<Role>) -> Memberships {
        let mut via = HashMap::new();
        let mut queue = VecDeque::from([principal.clone()]);
        if let Some(role) = role {
            let userset = role_userset(role.as_str());
            via.insert(userset.clone(), principal.clone());
            queue.push_back(userset);
        }
        while let Some(current) = queue.pop_front() {
            for (object, relation) in self.by_subject.get(&current).into_iter().flatten() {
                let userset_is_membership = matches!(
                    (object.kind, relation.as_str()),
                    (ObjectType::Group, "member") | (ObjectType::Platform, _)
                );
                // A credential's role replaces every stored role, however it is held.
                if !userset_is_membership || (role.is_some() && object.kind == ObjectType::Platform)
                {
                    continue;
                }
                let userset = SubjectRef::userset(object.clone(), relation.clone());
                if userset == *principal || via.contains_key(&userset) {
                    continue;
                }
                via.insert(userset.clone(), current.clone());
                queue.push_back(userset);
            }
        }
        let roles = via
            .keys()
            .filter(|userset| is_role_userset(userset))
            .filter_map(|userset| role_bit(userset.relation.as_deref().unwrap_or_default()))
            .fold(0, |roles, bit| roles | bit);
        // A credential whose role the principal does not hold (a viewer token of an admin
        // user) was scoped down on purpose: it may not change what the user owns either.
        let restricted = role.is_some_and(|role| {
            let stored = self.memberships_with(principal, None).roles;
            stored != 0 && role_bit(role.as_str()).is_none_or(|bit| stored & bit == 0)
        });
        Memberships {
            via,
            roles,
            document: OnceLock::new(),
            restricted,
        }
    }

    /// The subjects whose relationships count for `subject`: the principal and every
    /// userset it belongs to (platform roles replaced by the credential's role, if any).
    pub fn holders_for(&self, subject: &Subject) -> Vec<SubjectRef> {
        let memberships = self.memberships_for(subject);
        let mut holders = vec![subject.principal.clone()];
        holders.extend(memberships.usersets().cloned());
        holders
    }

    /// Does `subject` hold the role `role`? The path when it does.
    fn role_path(
        &self,
        subject: &Subject,
        memberships: &Memberships,
        role: &str,
    ) -> Option<Vec<String>> {
        match subject.role {
            Some(own) if own.as_str() == role => Some(vec![
                role_userset(role).to_string(),
                format!("{} (the role of this credential)", subject.principal),
            ]),
            Some(_) => None,
            None => memberships
                .holds_role(role)
                .then(|| memberships.chain(&role_userset(role), &subject.principal)),
        }
    }

    /// Does a holder (principal or userset) include `subject`? The chain when it does.
    fn holder_path(
        &self,
        subject: &Subject,
        memberships: &Memberships,
        holder: &SubjectRef,
    ) -> Option<Vec<String>> {
        if *holder == subject.principal {
            return Some(vec![holder.to_string()]);
        }
        if is_role_userset(holder) {
            let role = holder.relation.as_deref().unwrap_or_default();
            return self.role_path(subject, memberships, role);
        }
        memberships
            .contains(holder)
            .then(|| memberships.chain(holder, &subject.principal))
    }

    /// The objects whose tuples count for `resource`: itself and, for a secret, every
    /// stored prefix it starts with.
    fn candidates<'a>(&'a self, resource: &'a ObjectRef) -> impl Iterator<Item = ObjectRef> + 'a {
        let prefixes = (resource.kind == ObjectType::Secret)
            .then(|| {
                self.secret_prefixes
                    .iter()
                    .filter(|prefix| resource.id.starts_with(prefix.as_str()))
                    .map(|prefix| ObjectRef::new(ObjectType::Secret, format!("{prefix}*")))
            })
            .into_iter()
            .flatten();
        std::iter::once(resource.clone()).chain(prefixes)
    }

    /// May `subject` do `action` on `resource`, by roles and relationships?
    pub fn check(
        &self,
        subject: &Subject,
        action: &str,
        resource: &ObjectRef,
    ) -> Result<Grant, Error> {
        let permission = permission_for(resource.kind, action)?;
        Ok(self.check_permission(subject, permission, resource))
    }

    /// [`Graph::check`] with the permission already looked up.
    pub fn check_permission(
        &self,
        subject: &Subject,
        permission: &Permission,
        resource: &ObjectRef,
    ) -> Grant {
        let memberships = self.memberships_for(subject);
        for role in permission.roles {
            if let Some(path) = self.role_path(subject, &memberships, role) {
                return Grant::Path(path);
            }
        }
        // The relations of `platform:grimos` are the stored roles, which a credential's
        // role replaces: only the roles above count then.
        if subject.role.is_some() && resource.kind == ObjectType::Platform {
            return Grant::None;
        }
        // Under a credential scoped below the stored roles, only grants made to the
        // credential's role (a role userset on the path) count beyond `view`.
        let role_paths_only = memberships.restricted && permission.action != "view";
        for object in self.candidates(resource) {
            for (relation, holder) in self.by_object.get(&object).into_iter().flatten() {
                if !permission.relations.contains(&relation.as_str()) {
                    continue;
                }
                if let Some(mut chain) = self.holder_path(subject, &memberships, holder) {
                    if role_paths_only && !chain.iter().any(|step| step.starts_with("platform:")) {
                        continue;
                    }
                    chain.insert(0, format!("{object}#{relation}"));
                    return Grant::Path(chain);
                }
            }
        }
        Grant::None
    }

    /// Does a role of `subject` grant `action` on every object of `kind`? The path when so.
    pub fn role_grant(
        &self,
        subject: &Subject,
        kind: ObjectType,
        action: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        let permission = permission_for(kind, action)?;
        let memberships = self.memberships_for(subject);
        Ok(permission
            .roles
            .iter()
            .find_map(|role| self.role_path(subject, &memberships, role)))
    }

    /// The objects of `kind` on which relationships (not roles) let `subject` do `action`,
    /// sorted by id, each with the path that allows it.
    pub fn objects(
        &self,
        subject: &Subject,
        kind: ObjectType,
        action: &str,
    ) -> Result<Vec<(ObjectRef, Vec<String>)>, Error> {
        let permission = permission_for(kind, action)?;
        if subject.role.is_some() && kind == ObjectType::Platform {
            return Ok(Vec::new());
        }
        let memberships = self.memberships_for(subject);
        let role_paths_only = memberships.restricted && permission.action != "view";
        let mut found: HashMap<ObjectRef, Vec<String>> = HashMap::new();
        for holder in self.holders_for(subject) {
            for (object, relation) in self.by_subject.get(&holder).into_iter().flatten() {
                if object.kind != kind
                    || !permission.relations.contains(&relation.as_str())
                    || found.contains_key(object)
                {
                    continue;
                }
                if let Some(mut chain) = self.holder_path(subject, &memberships, &holder) {
                    if role_paths_only && !chain.iter().any(|step| step.starts_with("platform:")) {
                        continue;
                    }
                    chain.insert(0, format!("{object}#{relation}"));
                    found.insert(object.clone(), chain);
                }
            }
        }
        let mut objects: Vec<_> = found.into_iter().collect();
        objects.sort_by(|left, right| left.0.id.cmp(&right.0.id));
        Ok(objects)
    }

    /// Every principal (and userset) that may do `action` on `resource`, with the path,
    /// sorted by subject; usersets are expanded down to their members.
    pub fn subjects(
        &self,
        resource: &ObjectRef,
        action: &str,
    ) -> Result<Vec<(SubjectRef, Vec<String>)>, Error> {
        let permission = permission_for(resource.kind, action)?;
        let mut found: HashMap<SubjectRef, Vec<String>> = HashMap::new();
        let mut starts: Vec<(SubjectRef, Vec<String>)> = Vec::new();
        for role in permission.roles {
            let userset = role_userset(role);
            starts.push((userset.clone(), vec![userset.to_string()]));
        }
        for object in self.candidates(resource) {
            for (relation, holder) in self.by_object.get(&object).into_iter().flatten() {
                if permission.relations.contains(&relation.as_str()) {
                    starts.push((
                        holder.clone(),
                        vec![format!("{object}#{relation}"), holder.to_string()],
                    ));
                }
            }
        }
        let mut queue: VecDeque<(SubjectRef, Vec<String>)> = starts.into();
        let mut seen: HashSet<SubjectRef> = HashSet::new();
        while let Some((holder, path)) = queue.pop_front() {
            if !seen.insert(holder.clone()) {
                continue;
            }
            if let Some(relation) = &holder.relation {
                for member in self.holders(&holder.object, relation) {
                    let mut next = path.clone();
                    next.push(member.to_string());
                    queue.push_back((member.clone(), next));
                }
            }
            found.entry(holder).or_insert(path);
        }
        let mut subjects: Vec<_> = found.into_iter().collect();
        subjects.sort_by(|left, right| left.0.cmp(&right.0));
        Ok(subjects)
    }
}

/// The roles (sorted) and group ids (sorted) of `subject`, as the policies see them: the
/// credential's role when it has one, else every role it holds.
pub fn roles_and_groups(
    subject: &Subject,
    memberships: &Memberships,
) -> (Vec<String>, Vec<String>) {
    let mut roles: Vec<String> = match subject.role {
        Some(role) => vec![role.as_str().to_owned()],
        None => memberships
            .usersets()
            .filter(|userset| userset.object.kind == ObjectType::Platform)
            .filter_map(|userset| userset.relation.clone())
            .collect(),
    };
    roles.sort();
    let mut groups: Vec<String> = memberships
        .usersets()
        .filter(|userset| userset.object.kind == ObjectType::Group)
        .map(|userset| userset.object.id.clone())
        .collect();
    groups.sort();
    (roles, groups)
}

/// `platform:grimos#role`.
pub fn role_userset(role: &str) -> SubjectRef {
    SubjectRef::userset(ObjectRef::platform(), role)
}

/// The bit of `role` in [`Memberships`]' role set.
fn role_bit(role: &str) -> Option<u8> {
    schema::ROLES
        .iter()
        .position(|known| *known == role)
        .map(|index| 1 << index)
}

fn is_role_userset(subject: &SubjectRef) -> bool {
    subject.relation.is_some() && subject.object.kind == ObjectType::Platform
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(text: &str) -> Relationship {
        let (resource, subject) = text.split_once('@').unwrap();
        let (resource, relation) = resource.rsplit_once('#').unwrap();
        Relationship {
            resource: ObjectRef::parse(resource).unwrap(),
            relation: relation.to_owned(),
            subject: SubjectRef::parse(subject).unwrap(),
        }
    }

    fn graph(tuples: &[&str]) -> Graph {
        let mut graph = Graph::new(Revision(1));
        for text in tuples {
            graph.insert(tuple(text));
        }
        graph
    }

    fn ann() -> Subject {
        Subject::stored(SubjectRef::user("ann"))
    }

    #[test]
    fn a_grant_through_nested_groups_names_its_path_and_ends_with_the_membership() {
        let mut graph = graph(&[
            "flow:42#viewer@group:sre#member",
            "group:sre#member@group:oncall#member",
            "group:oncall#member@user:ann",
        ]);
        let flow = ObjectRef::parse("flow:42").unwrap();
        assert_eq!(
            graph.check(&ann(), "view", &flow).unwrap(),
            Grant::Path(vec![
                "flow:42#viewer".into(),
                "group:sre#member".into(),
                "group:oncall#member".into(),
                "user:ann".into()
            ])
        );
        assert_eq!(graph.check(&ann(), "edit", &flow).unwrap(), Grant::None);
        graph.remove(&tuple("group:oncall#member@user:ann"));
        let fresh = graph.clone();
        assert_eq!(fresh.check(&ann(), "view", &flow).unwrap(), Grant::None);
    }

    #[test]
    fn the_credentials_role_replaces_stored_roles() {
        let graph = graph(&["platform:grimos#admin@user:ann"]);
        let connector = ObjectRef::parse("connector:1").unwrap();
        assert!(graph.check(&ann(), "delete", &connector).unwrap().allows());
        let as_viewer = Subject {
            principal: SubjectRef::user("ann"),
            role: Some(Role::Viewer),
        };
        assert!(
            graph
                .check(&as_viewer, "view", &connector)
                .unwrap()
                .allows()
        );
        assert!(
            !graph
                .check(&as_viewer, "edit", &connector)
                .unwrap()
                .allows()
        );
        let as_member = Subject {
            principal: SubjectRef::user("ann"),
            role: Some(Role::Member),
        };
        assert!(
            !graph
                .check(&as_member, "view", &connector)
                .unwrap()
                .allows()
        );
    }

    #[test]
    fn a_credential_scoped_below_the_stored_role_only_views_what_the_user_owns() {
        let graph = graph(&[
            "platform:grimos#admin@user:ann",
            "flow:1#owner@user:ann",
            "platform:grimos#viewer@user:vic",
            "flow:1#editor@user:vic",
        ]);
        let flow = ObjectRef::parse("flow:1").unwrap();
        let scoped = Subject {
            principal: SubjectRef::user("ann"),
            role: Some(Role::Viewer),
        };
        assert!(graph.check(&scoped, "view", &flow).unwrap().allows());
        assert!(!graph.check(&scoped, "run", &flow).unwrap().allows());
        assert!(!graph.check(&scoped, "edit", &flow).unwrap().allows());
        assert!(graph.memberships_for(&scoped).restricted());
        // A viewer user granted editor acts with the role they hold: the grant counts.
        let viewer = Subject {
            principal: SubjectRef::user("vic"),
            role: Some(Role::Viewer),
        };
        assert!(graph.check(&viewer, "edit", &flow).unwrap().allows());
        // A principal with no stored role (OIDC) is not scoped down by its role.
        let oidc = Subject {
            principal: SubjectRef::user("oidc-sub"),
            role: Some(Role::Member),
        };
        assert!(!graph.memberships_for(&oidc).restricted());
    }

    #[test]
    fn a_secret_prefix_grants_every_reference_under_it() {
        let graph = graph(&["secret:vault:secret/crm/*#user@user:ann"]);
        let under = ObjectRef::parse("secret:vault:secret/crm/token").unwrap();
        let beside = ObjectRef::parse("secret:vault:secret/erp/token").unwrap();
        assert!(graph.check(&ann(), "use", &under).unwrap().allows());
        assert!(!graph.check(&ann(), "use", &beside).unwrap().allows());
    }

    #[test]
    fn objects_and_subjects_answer_both_directions() {
        let graph = graph(&[
            "connector:b#editor@user:ann",
            "connector:a#viewer@group:sre#member",
            "group:sre#member@user:ann",
            "group:sre#member@user:bob",
            "connector:c#viewer@user:bob",
        ]);
        let objects = graph
            .objects(&ann(), ObjectType::Connector, "view")
            .unwrap();
        let ids: Vec<_> = objects
            .iter()
            .map(|(object, _)| object.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let edit = graph
            .objects(&ann(), ObjectType::Connector, "edit")
            .unwrap();
        assert_eq!(edit.len(), 1);
        let subjects = graph
            .subjects(&ObjectRef::parse("connector:a").unwrap(), "view")
            .unwrap();
        let names: Vec<String> = subjects.iter().map(|(s, _)| s.to_string()).collect();
        assert!(names.contains(&"user:ann".to_owned()), "{names:?}");
        assert!(names.contains(&"user:bob".to_owned()), "{names:?}");
        assert!(
            names.contains(&"platform:grimos#viewer".to_owned()),
            "{names:?}"
        );
        assert!(
            graph
                .check(&ann(), "fly", &ObjectRef::parse("connector:a").unwrap())
                .is_err()
        );
    }
}
