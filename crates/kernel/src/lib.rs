//! The shared vocabulary of grimOS.
//!
//! Every other crate speaks in these terms: an [`Error`] with a [`ErrorKind`] and a stable
//! code (listed in the [`ErrorCode`] catalogue), the [`Principal`] on whose behalf an
//! operation runs and its [`Role`], entity ids, and cursor pagination. This crate knows
//! nothing about HTTP, SQL or any service.

pub mod error;
pub mod error_code;
pub mod id;
pub mod page;
pub mod principal;
pub mod redact;

pub use error::{Error, ErrorKind, FieldError, Result};
pub use error_code::ErrorCode;
pub use id::new_id;
pub use page::{Page, PageRequest};
pub use principal::{API_TOKEN_PREFIX, Access, Principal, PrincipalKind, Role};
pub use redact::{mask_secret_looking, redact_url_password};
