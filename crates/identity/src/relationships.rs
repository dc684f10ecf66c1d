//! Users' roles and tokens' owners as relationships of the decision point.
//!
//! A user's role is the relation `platform:grimos#<role>@user:<id>`, and a token's owner is
//! `token:<id>#owner@user:<user id>`. These tuples are written right after the user or token
//! change commits: through the running [`Authorizer`] (so that its graph moves at once),
//! or — before any authorizer exists (the first-admin bootstrap) — straight into the
//! relationship store, whose change log every server catches up with.
//!
//! A role is synced from the row as it is *after* the change ([`sync_role`] re-reads it),
//! so two concurrent role changes leave the tuple of the role that was committed last.

use authz::{Authorizer, ObjectRef, ObjectType, Relationship, Revision, SubjectRef};
use kernel::{Error, Role};
use storage::Database;

use crate::users;

/// `platform:grimos#<role>@user:<user_id>`.
pub fn role_tuple(user_id: &str, role: Role) -> Relationship {
    Relationship {
        resource: ObjectRef::platform(),
        relation: role.as_str().to_owned(),
        subject: SubjectRef::user(user_id),
    }
}

/// `token:<token_id>#owner@user:<user_id>`.
pub fn token_owner_tuple(token_id: &str, user_id: &str) -> Relationship {
    Relationship {
        resource: ObjectRef::new(ObjectType::Token, token_id),
        relation: "owner".to_owned(),
        subject: SubjectRef::user(user_id),
    }
}

/// The writes and deletes that make `user_id` hold exactly `role` on the platform.
pub fn role_changes(user_id: &str, role: Role) -> (Vec<Relationship>, Vec<Relationship>) {
    let deletes = Role::ALL
        .into_iter()
        .filter(|other| *other != role)
        .map(|other| role_tuple(user_id, other))
        .collect();
    (vec![role_tuple(user_id, role)], deletes)
}

/// Bring the platform role of user `user_id` in line with its row as committed now; a user
/// that no longer exists is forgotten (every relationship naming it goes). The revision.
pub async fn sync_role(
    authorizer: &dyn Authorizer,
    db: &Database,
    user_id: &str,
    by: Option<&str>,
) -> Result<Revision, Error> {
    match users::find(db, user_id).await? {
        Some(user) => {
            let (writes, deletes) = role_changes(&user.id, user.role);
            authorizer.write(writes, deletes, by).await
        }
        None => {
            authorizer
                .forget(&ObjectRef::new(ObjectType::User, user_id))
                .await
        }
    }
}

/// Write relationships straight into the store (validated as the authorizer would), for
/// the paths that run before an authorizer exists; running servers catch up through the
/// change log.
pub async fn write_to_store(
    db: &Database,
    writes: Vec<Relationship>,
    deletes: Vec<Relationship>,
    by: Option<&str>,
) -> Result<Revision, Error> {
    for tuple in &writes {
        authz::service::validate(tuple)?;
    }
    authz::store::write(db, &writes, &deletes, by).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_change_writes_one_role_and_removes_every_other() {
        let (writes, deletes) = role_changes("u1", Role::Member);
        assert_eq!(
            writes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec!["platform:grimos#member@user:u1"]
        );
        let mut removed: Vec<String> = deletes.iter().map(ToString::to_string).collect();
        removed.sort();
        assert_eq!(
            removed,
            vec![
                "platform:grimos#admin@user:u1",
                "platform:grimos#operator@user:u1",
                "platform:grimos#service@user:u1",
                "platform:grimos#viewer@user:u1",
            ]
        );
        for tuple in writes.iter().chain(&deletes) {
            authz::service::validate(tuple).unwrap();
        }
        authz::service::validate(&token_owner_tuple("t1", "u1")).unwrap();
    }
}
