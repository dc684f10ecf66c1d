//! The schema: for each object type, which relations exist, who may hold them, and which
//! relations (on the object itself, or roles on `platform:grimos`) grant each action.
//!
//! Written as data so that the decision point, the list filter, the API's validation and
//! `docs/authorization.md` read the same table. Relations imply one another through the
//! permissions: `edit` is granted by `editor` and `owner`, `view` by those and `viewer`, so
//! `owner` ⊃ `editor` ⊃ `viewer` without a separate rewrite rule.

use crate::model::ObjectType;

/// Every role of the platform, as relations on `platform:grimos`.
pub const ROLES: &[&str] = &["admin", "operator", "viewer", "service", "member"];
/// Roles that read every object that is not secret.
const READ: &[&str] = &["admin", "operator", "viewer", "service"];
/// Roles that change integrations and run flows.
const OPERATE: &[&str] = &["admin", "operator", "service"];
/// The role that manages users, secrets and access.
const ADMIN: &[&str] = &["admin"];
/// Every role.
const ANYONE: &[&str] = ROLES;

/// A relation an object type has.
#[derive(Debug, Clone, Copy)]
pub struct RelationDef {
    /// Its name.
    pub name: &'static str,
    /// What holding it means.
    pub meaning: &'static str,
}

/// An action and what grants it.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    /// The action (`view`, `edit`, `run`, …).
    pub action: &'static str,
    /// Relations on the object itself that grant it.
    pub relations: &'static [&'static str],
    /// Roles (relations on `platform:grimos`) that grant it on every object of the type.
    pub roles: &'static [&'static str],
    /// What it allows.
    pub meaning: &'static str,
}

/// The schema of one object type.
#[derive(Debug, Clone, Copy)]
pub struct TypeSchema {
    /// The type.
    pub kind: ObjectType,
    /// Its relations.
    pub relations: &'static [RelationDef],
    /// Its actions.
    pub permissions: &'static [Permission],
}

impl TypeSchema {
    /// The permission for `action`, if the type has it.
    pub fn permission(&self, action: &str) -> Option<&'static Permission> {
        self.permissions
            .iter()
            .find(|permission| permission.action == action)
    }

    /// Whether the type has the relation `name`.
    pub fn has_relation(&self, name: &str) -> bool {
        self.relations.iter().any(|relation| relation.name == name)
    }
}

const OWNER: RelationDef = RelationDef {
    name: "owner",
    meaning: "created it or was given it: everything an editor may, and shares it",
};
const EDITOR: RelationDef = RelationDef {
    name: "editor",
    meaning: "changes it (and everything a viewer may)",
};
const VIEWER: RelationDef = RelationDef {
    name: "viewer",
    meaning: "sees it",
};

const fn permission(
    action: &'static str,
    relations: &'static [&'static str],
    roles: &'static [&'static str],
    meaning: &'static str,
) -> Permission {
    Permission {
        action,
        relations,
        roles,
        meaning,
    }
}

const VIEW: Permission = permission(
    "view",
    &["viewer", "editor", "owner"],
    READ,
    "see it (without it, the object answers 404)",
);
const EDIT: Permission = permission("edit", &["editor", "owner"], OPERATE, "change it");
const DELETE: Permission = permission("delete", &["owner"], OPERATE, "delete it");
const MANAGE: Permission = permission(
    "manage",
    &["owner"],
    ADMIN,
    "share it: add and remove relationships on it",
);

/// The schema of every object type.
pub const SCHEMA: &[TypeSchema] = &[
    TypeSchema {
        kind: ObjectType::Platform,
        relations: &[
            RelationDef {
                name: "admin",
                meaning: "the admin role: everything",
            },
            RelationDef {
                name: "operator",
                meaning: "the operator role: changes and runs every integration",
            },
            RelationDef {
                name: "viewer",
                meaning: "the viewer role: sees every integration",
            },
            RelationDef {
                name: "service",
                meaning: "the service role (machines): like operator",
            },
            RelationDef {
                name: "member",
                meaning: "the member role: signs in and sees only what is shared with them",
            },
        ],
        permissions: &[
            permission("read", READ, READ, "see every integration"),
            permission(
                "operate",
                OPERATE,
                OPERATE,
                "change and run every integration",
            ),
            permission("administer", ADMIN, ADMIN, "everything"),
            permission("create_connector", OPERATE, OPERATE, "create connectors"),
            permission("create_mapping", OPERATE, OPERATE, "create mappings"),
            permission("create_flow", OPERATE, OPERATE, "create flows"),
            permission(
                "create_token",
                ANYONE,
                ANYONE,
                "create API tokens for oneself",
            ),
            permission("manage_users", ADMIN, ADMIN, "create and change users"),
            permission("manage_secrets", ADMIN, ADMIN, "store and read secrets"),
            permission(
                "manage_access",
                ADMIN,
                ADMIN,
                "write any relationship, group or policy; ask what anyone may do",
            ),
        ],
    },
    TypeSchema {
        kind: ObjectType::Connector,
        relations: &[OWNER, EDITOR, VIEWER],
        permissions: &[
            VIEW,
            EDIT,
            DELETE,
            MANAGE,
            permission(
                "test",
                &["editor", "owner"],
                OPERATE,
                "test its connection (uses its secrets)",
            ),
        ],
    },
    TypeSchema {
        kind: ObjectType::Mapping,
        relations: &[OWNER, EDITOR, VIEWER],
        permissions: &[VIEW, EDIT, DELETE, MANAGE],
    },
    TypeSchema {
        kind: ObjectType::Flow,
        relations: &[
            OWNER,
            EDITOR,
            RelationDef {
                name: "operator",
                meaning: "runs it, cancels its runs and replays its dead letters",
            },
            VIEWER,
        ],
        permissions: &[
            permission(
                "view",
                &["viewer", "operator", "editor", "owner"],
                READ,
                "see it, its runs and dead letters (without it, the flow answers 404)",
            ),
            permission(
                "run",
                &["operator", "editor", "owner"],
                OPERATE,
                "run it, cancel its runs, replay or discard its dead letters",
            ),
            EDIT,
            DELETE,
            MANAGE,
        ],
    },
    TypeSchema {
        kind: ObjectType::Secret,
        relations: &[
            OWNER,
            RelationDef {
                name: "user",
                meaning: "may use the reference in connectors and flows (never read it)",
            },
        ],
        permissions: &[
            permission("use", &["user", "owner"], ADMIN, "use the reference"),
            permission("view", &["owner"], ADMIN, "see its metadata"),
            permission("edit", &["owner"], ADMIN, "change its value"),
            permission("delete", &["owner"], ADMIN, "delete it"),
            MANAGE,
        ],
    },
    TypeSchema {
        kind: ObjectType::Token,
        relations: &[RelationDef {
            name: "owner",
            meaning: "the user the token acts for",
        }],
        permissions: &[
            permission("view", &["owner"], ADMIN, "see the token's metadata"),
            permission("delete", &["owner"], ADMIN, "revoke it"),
        ],
    },
    TypeSchema {
        kind: ObjectType::User,
        relations: &[],
        permissions: &[
            permission("view", &[], ADMIN, "see the user"),
            permission("edit", &[], ADMIN, "change the user"),
            permission("delete", &[], ADMIN, "delete the user"),
        ],
    },
    TypeSchema {
        kind: ObjectType::Service,
        relations: &[],
        permissions: &[],
    },
    TypeSchema {
        kind: ObjectType::Group,
        relations: &[
            RelationDef {
                name: "member",
                meaning: "belongs to the group (users, service principals, other groups' members)",
            },
            RelationDef {
                name: "manager",
                meaning: "adds and removes members",
            },
        ],
        permissions: &[
            permission("view", &["member", "manager"], READ, "see the group"),
            permission("edit", &["manager"], ADMIN, "add and remove members"),
            permission("delete", &[], ADMIN, "delete the group"),
            permission("manage", &["manager"], ADMIN, "add and remove members"),
        ],
    },
];

/// The schema of `kind`.
pub fn of(kind: ObjectType) -> &'static TypeSchema {
    SCHEMA
        .iter()
        .find(|schema| schema.kind == kind)
        .unwrap_or(&SCHEMA[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_schema_and_every_permission_names_existing_relations() {
        for kind in ObjectType::ALL {
            let schema = of(kind);
            assert_eq!(schema.kind, kind);
            for permission in schema.permissions {
                for relation in permission.relations {
                    assert!(schema.has_relation(relation), "{kind}: {relation}");
                }
                for role in permission.roles {
                    assert!(ROLES.contains(role), "{kind}: {role}");
                }
            }
        }
    }

    #[test]
    fn owner_implies_editor_implies_viewer() {
        for kind in [ObjectType::Connector, ObjectType::Mapping, ObjectType::Flow] {
            let schema = of(kind);
            let grants = |action: &str, relation: &str| {
                schema
                    .permission(action)
                    .is_some_and(|permission| permission.relations.contains(&relation))
            };
            for action in ["view", "edit"] {
                if grants(action, "viewer") || action == "view" {
                    assert!(
                        grants(action, "editor") && grants(action, "owner"),
                        "{kind}"
                    );
                }
            }
            assert!(grants("edit", "owner") && !grants("edit", "viewer"));
        }
    }
}
