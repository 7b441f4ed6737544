//! Token ids: what a valid one looks like, and fresh random ones.
//!
//! An id is the last part of a Secrets Manager secret's name, so it must keep to the service's name
//! characters. Both stores apply the same rules, so a token that one store accepts the other does too.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;

use crate::error::{Error, Result};

/// Longest accepted token id.
pub(crate) const MAX_ID_LEN: usize = 64;

/// Checks that `id` can be part of a secret name.
pub(crate) fn validate(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::invalid_token(format!(
            "id `{}` must be 1 to {MAX_ID_LEN} characters",
            printable(id)
        )));
    }
    if let Some(bad) = id.chars().find(|c| !is_id_char(*c)) {
        return Err(Error::invalid_token(format!(
            "id `{}` contains {bad:?}; ids may use ASCII letters, digits and _+=.@-",
            printable(id)
        )));
    }
    // Secrets Manager appends `-XXXXXX` to ARNs; a name that already ends that way confuses partial-ARN
    // lookups (see the service's name rules).
    if id.len() >= 7 && id.as_bytes()[id.len() - 7] == b'-' {
        return Err(Error::invalid_token(format!(
            "id `{id}` ends with '-' and six characters, which Secrets Manager confuses with an ARN suffix; \
             change the last part"
        )));
    }
    Ok(())
}

pub(crate) fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=.@-".contains(c)
}

/// A fresh random id (`t` and 32 hex digits): 128 random bits, so ids never collide, unlike the seed's
/// `max(id) + 1` over a text column.
pub(crate) fn random() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("t{}", hex::encode(bytes))
}

/// The order ids are listed in: numeric ids by value (as the SDK's file store numbers them: 1, 2, ...,
/// 10), before every other id, which sort as text.
pub(crate) fn order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// [`order`] for ids that may be missing (listed first).
pub(crate) fn order_of(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    order(a.unwrap_or_default(), b.unwrap_or_default())
}

/// An id shortened and stripped of control characters, safe to echo in an error.
fn printable(id: &str) -> String {
    id.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_service_name_characters() {
        for ok in [
            "1",
            "12",
            "t0123456789abcdef",
            "a_b+c=d.e@f-g",
            &"x".repeat(64),
        ] {
            validate(ok).unwrap();
        }
    }

    #[test]
    fn rejects_bad_ids_with_a_reason() {
        for (bad, why) in [
            ("", "1 to 64"),
            (&"x".repeat(65) as &str, "1 to 64"),
            ("a/b", "'/'"),
            ("a b", "' '"),
            ("é", "'é'"),
            ("user-abcdef", "six characters"),
        ] {
            let err = validate(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn numeric_ids_list_by_value_before_the_rest() {
        let mut ids = vec!["u9f", "10", "2", "1", "t0a", "12", "11"];
        ids.sort_by(|a, b| order(a, b));
        assert_eq!(ids, ["1", "2", "10", "11", "12", "t0a", "u9f"]);
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let (a, b) = (random(), random());
        validate(&a).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 33);
    }
}
