//! Who is calling, and what their role allows.

use std::fmt;
use std::str::FromStr;

/// The built-in roles. Finer, object-level grants come from the governance layer on top.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, tokens and secrets.
    Admin,
    /// Runs and changes integrations; cannot manage users or secrets.
    Operator,
    /// Reads everything that is not secret; changes nothing.
    Viewer,
    /// A machine principal for service-to-service calls: reads and operates.
    Service,
    /// Signs in and sees only what is shared with them (object-level grants).
    Member,
}

/// The level of access an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Only what is shared with the caller, object by object.
    Shared,
    /// Read non-secret state.
    Read,
    /// Change integrations, run flows.
    Operate,
    /// Manage users, tokens of others, secrets, platform settings.
    Admin,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Operator,
        Role::Viewer,
        Role::Service,
        Role::Member,
    ];

    /// The highest access level this role grants.
    pub fn max_access(self) -> Access {
        match self {
            Role::Admin => Access::Admin,
            Role::Operator | Role::Service => Access::Operate,
            Role::Viewer => Access::Read,
            Role::Member => Access::Shared,
        }
    }

    /// Whether this role grants `access`.
    pub fn allows(self, access: Access) -> bool {
        self.max_access() >= access
    }

    /// Whether a holder of this role may hand out `other` (e.g. when creating a token):
    /// nobody can grant more than they have.
    pub fn can_grant(self, other: Role) -> bool {
        self == Role::Admin || other.max_access() <= self.max_access()
    }

    /// The role's name as used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
            Role::Service => "service",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected one of admin, operator, viewer, service, member")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| UnknownRole(value.to_owned()))
    }
}

/// Every grimOS API token starts with this: identity issues such tokens, and the settings
/// check the bootstrap admin token's form with it.
pub const API_TOKEN_PREFIX: &str = "grm_";

/// How a principal proved who it is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A grimOS API token (`grm_...`).
    ApiToken,
    /// An OIDC/JWT bearer token from the configured identity provider.
    Oidc,
    /// A client certificate (mutual TLS).
    Certificate,
}

/// The authenticated caller of an operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// Stable subject: a user id for API tokens, the `sub` claim for OIDC.
    pub subject: String,
    /// A human-readable name (user name, token name or certificate subject).
    pub display_name: String,
    /// The role in force for this call.
    pub role: Role,
    /// How the caller authenticated.
    pub kind: PrincipalKind,
    /// The API token id, when the caller used one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The user id, when the caller is a grimOS user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl Principal {
    /// Whether this principal may perform an operation needing `access`.
    pub fn allows(&self, access: Access) -> bool {
        self.role.allows(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_access_in_order() {
        let cases = [
            (Role::Admin, Access::Admin, true),
            (Role::Operator, Access::Admin, false),
            (Role::Operator, Access::Operate, true),
            (Role::Service, Access::Operate, true),
            (Role::Service, Access::Admin, false),
            (Role::Viewer, Access::Read, true),
            (Role::Viewer, Access::Operate, false),
        ];
        for (role, access, expected) in cases {
            assert_eq!(role.allows(access), expected, "{role} {access:?}");
        }
    }

    #[test]
    fn nobody_grants_more_than_they_have() {
        assert!(Role::Admin.can_grant(Role::Admin));
        assert!(Role::Operator.can_grant(Role::Viewer));
        assert!(Role::Operator.can_grant(Role::Service));
        assert!(!Role::Operator.can_grant(Role::Admin));
        assert!(!Role::Viewer.can_grant(Role::Operator));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
