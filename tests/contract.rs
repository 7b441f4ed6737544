//! The TokenStore contract suite, run against every store implementation.

mod common;

use std::sync::Arc;

use common::contract;
use zoho_token_store::{MemoryStore, TokenStore};

macro_rules! contract_suite {
    ($($case:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
                    contract::$case(store).await;
                }
            )*
        }

        mod secrets_manager {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let store: Arc<dyn TokenStore> = Arc::new(common::store(stringify!($case)).await);
                    contract::$case(store).await;
                }
            )*
        }
    };
}

contract_suite!(
    find_by_user_fills_empty_fields_and_caller_wins,
    find_by_user_does_not_fall_back_to_other_fields,
    find_by_access_token_only_without_client_credentials,
    find_by_grant_or_refresh_needs_the_same_client_id,
    grant_match_wins_over_refresh_match,
    find_absent_is_none_not_error,
    save_is_an_upsert_that_never_duplicates,
    save_by_id_replaces_that_token,
    save_by_id_never_puts_another_users_token_there,
    a_save_by_id_names_the_user_of_a_token_that_named_none,
    a_save_matched_by_its_refresh_token_keeps_the_user,
    save_matches_by_refresh_token_and_client,
    different_users_are_kept_apart,
    save_refuses_a_named_token_without_credentials,
    save_rejects_invalid_tokens_and_ids,
    explicit_ids_one_to_twelve_never_collide,
    delete_token_removes_only_that_token,
    a_save_by_id_never_brings_back_a_deleted_token,
    insert_creates_under_a_chosen_id_and_never_overwrites,
    get_tokens_and_delete_tokens,
    empty_strings_mean_none,
    works_as_a_shared_trait_object,
);
