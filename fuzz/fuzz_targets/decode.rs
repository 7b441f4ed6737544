//! Every decoder that reads bytes from outside (a secret's value, its JSON, a keyring variable) must
//! return an error on bad input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zoho_token_store::{Keyring, OAuthToken, open_token};

fuzz_target!(|data: &[u8]| {
    if let Ok(ring) = Keyring::new("k1", &[1; 32], &[2; 32]) {
        let _ = open_token(&ring, "zoho/oauth/t1", data);
    }
    let _ = OAuthToken::from_json(data);
    let _ = Keyring::parse(&String::from_utf8_lossy(data));
});
