//! Links the addon the way Node loads it (napi-rs's build setup).
fn main() {
    napi_build::setup();
}
