//! Property tests: any token survives serialization and encryption unchanged, and no input makes the
//! decoders panic.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use zoho_token_store::{Error, Keyring, OAuthToken, ZohoRefusal, open_token, seal_token};

fn text() -> impl Strategy<Value = Option<String>> {
    // Non-empty (empty means "none", by the SDK's rules), any Unicode, quotes and control characters.
    proptest::option::of("\\PC{1,40}|[\"'\\\\\u{0}-\u{1f}]{1,8}")
}

prop_compose! {
    fn token()(
        id in text(), user in text(), client_id in text(), secret in text(), grant in text(),
        refresh in text(), access in text(), expiry in proptest::option::of(any::<u64>()),
        redirect in text(), domain in text(), source_id in text(),
        issued in proptest::option::of(any::<u64>()),
        refusal in proptest::option::of(prop_oneof![
            any::<u64>().prop_map(|until_ms| ZohoRefusal::Throttled { until_ms }),
            any::<u64>().prop_map(|at_ms| ZohoRefusal::Revoked { at_ms }),
        ]),
    ) -> OAuthToken {
        OAuthToken {
            id, user_name: user, client_id,
            client_secret: secret.map(Into::into), grant_token: grant.map(Into::into),
            refresh_token: refresh.map(Into::into), access_token: access.map(Into::into),
            expires_at_ms: expiry, redirect_url: redirect, api_domain: domain, source_id,
            issued_at_ms: issued, refusal,
        }
    }
}

fn ring() -> Keyring {
    Keyring::new("k1", &[5; 32], &[6; 32]).unwrap()
}

proptest! {
    #[test]
    fn json_round_trip_is_lossless(t in token()) {
        prop_assert_eq!(OAuthToken::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn envelope_round_trip_is_lossless(t in token(), name in "[a-z/]{1,20}[a-z0-9]{1,20}") {
        let value = seal_token(&ring(), &name, &t).unwrap();
        prop_assert_eq!(open_token(&ring(), &name, &BASE64.decode(value).unwrap()).unwrap(), t);
    }

    #[test]
    fn any_bytes_are_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let err = open_token(&ring(), "zoho/oauth/t1", &bytes).unwrap_err();
        let is_named = matches!(
            &err,
            Error::CorruptSecret { secret, .. } | Error::Decrypt { secret, .. } | Error::UnknownKeyId { secret, .. }
                if secret == "zoho/oauth/t1"
        );
        prop_assert!(is_named, "{:?}", err);
        // The JSON decoder must not panic either (a panic fails the property); any result is fine.
        drop(OAuthToken::from_json(&bytes));
    }

    #[test]
    fn a_header_with_random_tail_is_an_error(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = b"ZTS\x01\x02k1".to_vec();
        bytes.extend(tail);
        prop_assert!(open_token(&ring(), "zoho/oauth/t1", &bytes).is_err());
    }
}
