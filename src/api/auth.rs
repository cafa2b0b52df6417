//! Bearer-token authentication: writes need the admin token; reads need the read token
//! (or the admin token) when one is configured. Tokens are compared in constant time and
//! never printed.

use std::fmt;

use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;

use super::error::ApiError;

/// A secret token; `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl Token {
    /// A token from its text, trimmed of surrounding whitespace (token files end in a newline).
    pub fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Self(trimmed.as_bytes().to_vec()))
    }

    fn matches(&self, presented: &[u8]) -> bool {
        self.0.ct_eq(presented).into()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads and assessments.
    Read,
    /// Writes.
    Write,
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Token for writes (and reads); writes are refused when absent.
    pub admin: Option<Token>,
    /// Token for reads; reads are open when absent.
    pub read: Option<Token>,
}

impl Auth {
    /// Checks the `authorization: Bearer <token>` header of a call needing `access`; returns
    /// which configured token was presented (`admin` or `read`), for logs.
    pub fn check(
        &self,
        metadata: &MetadataMap,
        access: Access,
    ) -> Result<Option<&'static str>, ApiError> {
        let presented = || -> Result<&[u8], ApiError> {
            let header = metadata.get("authorization").ok_or_else(|| {
                ApiError::Unauthenticated(
                    "missing credentials: send the header `authorization: Bearer <token>`".into(),
                )
            })?;
            header.as_bytes().strip_prefix(b"Bearer ").ok_or_else(|| {
                ApiError::Unauthenticated(
                    "the authorization header must be `Bearer <token>`".into(),
                )
            })
        };
        match access {
            Access::Write => {
                let Some(admin) = &self.admin else {
                    return Err(ApiError::PermissionDenied(
                        "writes are disabled: start xborderd with --admin-token-file FILE (or XBORDER_ADMIN_TOKEN_FILE) to enable them"
                            .into(),
                    ));
                };
                let token = presented()?;
                if admin.matches(token) {
                    Ok(Some("admin"))
                } else if self.read.as_ref().is_some_and(|read| read.matches(token)) {
                    Err(ApiError::PermissionDenied(
                        "the read token does not allow writes".into(),
                    ))
                } else {
                    Err(ApiError::Unauthenticated("invalid token".into()))
                }
            }
            Access::Read => match &self.read {
                None => Ok(None),
                Some(read) => {
                    let token = presented()?;
                    if read.matches(token) {
                        Ok(Some("read"))
                    } else if self
                        .admin
                        .as_ref()
                        .is_some_and(|admin| admin.matches(token))
                    {
                        Ok(Some("admin"))
                    } else {
                        Err(ApiError::Unauthenticated("invalid token".into()))
                    }
                }
            },
        }
    }
}
