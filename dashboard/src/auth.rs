//! The bearer token: kept out of logs and debug output, compared in constant time.

use std::fmt;
use std::sync::Arc;

use subtle::ConstantTimeEq;

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// A secret token. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Token(Arc<[u8]>);

impl Token {
    /// A token of at least [`MIN_TOKEN_LEN`] characters, without spaces.
    ///
    /// # Errors
    ///
    /// Says what is wrong with it (never what it is).
    pub fn new(token: &str) -> Result<Self, String> {
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(format!("must be at least {MIN_TOKEN_LEN} characters long"));
        }
        if token.chars().any(char::is_whitespace) {
            return Err("must not contain spaces".to_owned());
        }
        Ok(Token(token.as_bytes().into()))
    }

    /// Whether `presented` is this token. The time taken does not depend on where the two
    /// differ (only on their lengths).
    pub fn matches(&self, presented: &str) -> bool {
        self.0.ct_eq(presented.as_bytes()).into()
    }

    /// Whether an `Authorization` header's value is `Bearer <this token>`.
    pub fn matches_header(&self, header: &str) -> bool {
        header
            .strip_prefix("Bearer ")
            .is_some_and(|presented| self.matches(presented.trim()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let token = Token::new("correct-horse-battery").unwrap();
        assert!(token.matches("correct-horse-battery"));
        assert!(!token.matches("correct-horse-batterY"));
        assert!(!token.matches("correct-horse"));
        assert!(!token.matches(""));
        assert!(token.matches_header("Bearer correct-horse-battery"));
        assert!(!token.matches_header("Basic correct-horse-battery"));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }
}
