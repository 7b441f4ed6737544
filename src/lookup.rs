//! The contract's matching rules, in one place for every store.
//!
//! `find_token` and `save_token` both decide *how* to look a token up from what the caller filled in;
//! both stores plan with [`Lookup::for_token`] and check candidates with [`Lookup::matches`], so the
//! in-memory reference store and the Secrets Manager store cannot drift apart.

use crate::secret::{AccessToken, GrantToken, RefreshToken};
use crate::token::OAuthToken;

/// How to find the stored token that corresponds to a partially filled one.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// A user name was given: match on it alone, with no fallback to other fields.
    User(&'a str),
    /// An access token without client credentials.
    Access(&'a AccessToken),
    /// A grant and/or refresh token with client credentials: the grant token matches first, then the
    /// refresh token, and either match also needs the same client id (the seed's "with the same client
    /// credentials", which its SQL forgot).
    Credentials {
        grant: Option<&'a GrantToken>,
        refresh: Option<&'a RefreshToken>,
        client_id: &'a str,
    },
}

impl<'a> Lookup<'a> {
    /// The lookup `find_token` performs for `token` (already normalized), or `None` when the token
    /// carries nothing the contract matches on.
    pub(crate) fn for_token(token: &'a OAuthToken) -> Option<Self> {
        if let Some(user) = token.user_name.as_deref() {
            return Some(Self::User(user));
        }
        if let Some(access) = &token.access_token
            && token.client_id.is_none()
            && token.client_secret.is_none()
        {
            return Some(Self::Access(access));
        }
        match (
            &token.grant_token,
            &token.refresh_token,
            &token.client_id,
            &token.client_secret,
        ) {
            (None, None, _, _) => None,
            (grant, refresh, Some(client_id), Some(_)) => Some(Self::Credentials {
                grant: grant.as_ref(),
                refresh: refresh.as_ref(),
                client_id,
            }),
            _ => None,
        }
    }

    /// How well `stored` matches: `Some(0)` is the best rank (a grant-token match beats a refresh-token
    /// match), `None` is no match.
    pub(crate) fn rank(&self, stored: &OAuthToken) -> Option<u8> {
        match self {
            Self::User(user) => (stored.user_name.as_deref() == Some(*user)).then_some(0),
            Self::Access(access) => (stored.access_token.as_ref() == Some(*access)).then_some(0),
            Self::Credentials {
                grant,
                refresh,
                client_id,
            } => {
                if stored.client_id.as_deref() != Some(*client_id) {
                    return None;
                }
                if grant.is_some() && stored.grant_token.as_ref() == *grant {
                    Some(0)
                } else if refresh.is_some() && stored.refresh_token.as_ref() == *refresh {
                    Some(1)
                } else {
                    None
                }
            }
        }
    }

    /// The best match among `candidates`, if any.
    pub(crate) fn best<'c>(
        &self,
        candidates: impl IntoIterator<Item = &'c OAuthToken>,
    ) -> Option<&'c OAuthToken> {
        candidates
            .into_iter()
            .filter_map(|c| self.rank(c).map(|r| (r, c)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, c)| c)
    }
}

/// The contract's refusal: a token that names a user (or id) but carries no grant, refresh or access
/// token cannot create a new entry, because there is nothing to authenticate with.
pub(crate) fn check_insertable(token: &OAuthToken) -> crate::Result<()> {
    let names_someone = token.id.is_some() || token.user_name.is_some();
    let has_credential = token.grant_token.is_some()
        || token.refresh_token.is_some()
        || token.access_token.is_some();
    if names_someone && !has_credential {
        return Err(crate::Error::invalid_token(
            "given user authentication details not found: no stored token matches, and a new one needs a \
             grant, refresh or access token",
        ));
    }
    Ok(())
}

/// The refusal of a save under an id whose stored token is another user's. An id names one user's
/// token: a copy carrying a stale id, or an id set on another user's token, would otherwise replace
/// that user's token silently (the Zoho SDKs' FileStore replaces the row). A token whose stored copy
/// names no user is not refused: the SDKs learn a user after the first save. User names are compared as
/// written; the SDKs' merge ([`same_user`]) keeps the stored spelling of the same user.
pub(crate) fn another_users_id(id: &str) -> crate::Error {
    crate::Error::invalid_token(format!(
        "id `{id}` names another user's token; nothing written: a save under an id only updates that \
         user's token, so save this user's token without an id (it gets its own) or under the id it was \
         found with"
    ))
}

/// The refusal of a save under an id, of a token naming no user, over a stored token that names one.
/// Written, it would leave that user without a token to be found by (their lookups miss) and the id
/// open to anyone's; and a token whose user is unknown may be anyone's, so the store cannot keep the
/// stored name on it either.
pub(crate) fn unnamed_over_named(id: &str) -> crate::Error {
    crate::Error::invalid_token(format!(
        "id `{id}` holds a token that names its user, and this one names none; nothing written: set the \
         token's user name to the stored one's (find_token_by_id returns it)"
    ))
}

/// Refuses a write under `id` of a token naming the user `mine` over a stored token naming `stored`
/// (as written): another user ([`another_users_id`]), or none over a named one ([`unnamed_over_named`]).
/// A stored token naming no user takes any.
pub(crate) fn check_stored_user(
    stored: Option<&str>,
    mine: Option<&str>,
    id: &str,
) -> crate::Result<()> {
    match (stored, mine) {
        (Some(stored), Some(mine)) if stored != mine => Err(another_users_id(id)),
        (Some(_), None) => Err(unnamed_over_named(id)),
        _ => Ok(()),
    }
}

/// Whether the user name `mine`, which a caller brings, names the user `stored` names: equal; or, both
/// being e-mail addresses (as the SDKs name users), equal but for the address's case, `mine` with the
/// same `:<org id>` as `stored` or with none (an app's `UserSignature` beside the name the 8.0 SDKs
/// discover, `<address>:<org id>`). Not the other way: a stored address without an org id may be any
/// organisation's user, and two org ids that differ are two users. Names that are not addresses are an
/// app's own, compared as written.
pub(crate) fn same_user(mine: &str, stored: &str) -> bool {
    fn parts(name: &str) -> Option<(&str, Option<&str>)> {
        let (mail, org) = name
            .split_once(':')
            .map_or((name, None), |(mail, org)| (mail, Some(org)));
        let (_, domain) = mail.split_once('@')?;
        domain.contains('.').then_some((mail, org))
    }
    if mine == stored {
        return true;
    }
    let (Some((my_mail, my_org)), Some((stored_mail, stored_org))) = (parts(mine), parts(stored))
    else {
        return false;
    };
    my_mail.eq_ignore_ascii_case(stored_mail)
        && match (my_org, stored_org) {
            (None, _) => true,
            (Some(mine), Some(stored)) => mine == stored,
            (Some(_), None) => false,
        }
}

/// The refusal of [`insert_token`](crate::TokenStore::insert_token) for an id that names a stored token.
pub(crate) fn id_taken(id: &str) -> crate::Error {
    crate::Error::invalid_token(format!(
        "id `{id}` already names a stored token (or one deleted and still recoverable); nothing written: \
         save_token updates a stored token, and a new one needs another id"
    ))
}

/// A token about to be written over its stored self (`update_token`): normalized, valid, and with a
/// valid id, which is returned beside it.
pub(crate) fn for_update(token: &OAuthToken) -> crate::Result<(OAuthToken, String)> {
    let mut token = token.clone();
    token.normalize();
    token.validate()?;
    let id = token
        .id
        .clone()
        .ok_or_else(|| crate::Error::invalid_token("update_token needs a token with an id"))?;
    crate::id::validate(&id)?;
    Ok((token, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> OAuthToken {
        OAuthToken::default()
            .with_user_name("alice")
            .with_client("cid", "cs")
            .with_grant_token("g1")
            .with_refresh_token("r1")
            .with_access_token("a1", 1)
    }

    #[test]
    fn precedence_user_then_access_then_credentials() {
        let t = OAuthToken::default()
            .with_user_name("bob")
            .with_refresh_token("r1")
            .with_client("cid", "cs");
        assert!(matches!(Lookup::for_token(&t), Some(Lookup::User("bob"))));
        assert!(
            Lookup::for_token(&t).unwrap().rank(&stored()).is_none(),
            "no fallback from user"
        );

        let t = OAuthToken::default().with_access_token("a1", 0);
        assert_eq!(Lookup::for_token(&t).unwrap().rank(&stored()), Some(0));

        // Access token with client credentials falls through to grant/refresh, and has neither.
        let t = OAuthToken::default()
            .with_access_token("a1", 0)
            .with_client("cid", "cs");
        assert!(Lookup::for_token(&t).is_none());
    }

    #[test]
    fn credentials_need_the_same_client_id_and_prefer_grant() {
        let t = OAuthToken::default()
            .with_refresh_token("r1")
            .with_client("cid", "cs");
        assert_eq!(Lookup::for_token(&t).unwrap().rank(&stored()), Some(1));
        let t = OAuthToken::default()
            .with_refresh_token("r1")
            .with_client("other", "cs");
        assert_eq!(Lookup::for_token(&t).unwrap().rank(&stored()), None);
        // A refresh token alone (no client credentials) does not enter this branch: the seed's SQL slip.
        let t = OAuthToken::default().with_refresh_token("r1");
        assert!(Lookup::for_token(&t).is_none());

        let by_refresh = OAuthToken::default()
            .with_id("by-refresh")
            .with_refresh_token("r2")
            .with_client("cid", "cs");
        let by_grant = OAuthToken::default()
            .with_id("by-grant")
            .with_grant_token("g2")
            .with_client("cid", "cs");
        let q = OAuthToken::default()
            .with_grant_token("g2")
            .with_refresh_token("r2")
            .with_client("cid", "cs");
        let best = Lookup::for_token(&q)
            .unwrap()
            .best([&by_refresh, &by_grant])
            .unwrap();
        assert_eq!(best.id.as_deref(), Some("by-grant"));
    }

    #[test]
    fn insert_needs_a_credential_when_someone_is_named() {
        assert!(check_insertable(&OAuthToken::default().with_user_name("u")).is_err());
        assert!(check_insertable(&OAuthToken::default().with_id("1")).is_err());
        check_insertable(
            &OAuthToken::default()
                .with_user_name("u")
                .with_refresh_token("r"),
        )
        .unwrap();
    }

    #[test]
    fn the_same_user_spelled_as_the_sdks_spell_it() {
        assert!(same_user("a@x.com:42", "a@x.com:42"));
        assert!(same_user("A@X.com", "a@x.com:42"), "case, and no org id");
        assert!(same_user("a@x.com", "a@x.com"));
        assert!(!same_user("a@x.com:42", "a@x.com:43"), "two organisations");
        assert!(
            !same_user("a@x.com:42", "a@x.com"),
            "a stored address without an org id may be another organisation's user"
        );
        assert!(!same_user("a@x.com", "b@x.com"));
        assert!(
            !same_user("Tenant", "tenant"),
            "an app's own names are compared as written"
        );
        assert!(!same_user("svc@Prod", "svc@prod"), "not an address");
        assert!(!same_user("tenant:1", "tenant"));
    }
}
