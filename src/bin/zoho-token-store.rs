//! `zoho-token-store`: see and fix the Zoho OAuth tokens kept encrypted in AWS Secrets Manager (the tool
//! lives in the library, `zoho_token_store::cli`, so the Python package runs the same one).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(zoho_token_store::cli::run(std::env::args_os()))
}
