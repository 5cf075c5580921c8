//! Who made a call: the token claims Key Vault copies into `identity.claim`.
//!
//! Two vocabularies exist side by side. Data-plane calls carry short token names (`oid`,
//! `appid`, `upn`, `unique_name`, `idtyp`, `xms_mirid`, `appidacr`); `Vault*` management
//! calls carry long claim URIs (`http://schemas.microsoft.com/identity/claims/objectidentifier`,
//! `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn`). Both map to the same
//! fields here, the short name winning when a record has both.
//!
//! Managed HSM writes `identity` as a JSON string holding the same object; that string is
//! decoded here too. Unknown claims, arrays (`xms_az_nwperimid`) and odd types never fail
//! a record.

use std::borrow::Cow;

use serde::Deserialize;

use super::lenient::Lenient;

/// The claims kvaudit keeps, in both vocabularies.
#[derive(Debug, Default, Deserialize)]
pub struct Claims<'a> {
    #[serde(borrow, default)]
    pub oid: Lenient<'a>,
    #[serde(borrow, default, rename = "http://schemas.microsoft.com/identity/claims/objectidentifier")]
    pub oid_uri: Lenient<'a>,
    #[serde(borrow, default)]
    pub appid: Lenient<'a>,
    #[serde(borrow, default)]
    pub azp: Lenient<'a>,
    #[serde(borrow, default)]
    pub upn: Lenient<'a>,
    #[serde(borrow, default, rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")]
    pub upn_uri: Lenient<'a>,
    #[serde(borrow, default)]
    pub unique_name: Lenient<'a>,
    #[serde(borrow, default, rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")]
    pub name_uri: Lenient<'a>,
    #[serde(borrow, default)]
    pub idtyp: Lenient<'a>,
    #[serde(borrow, default)]
    pub xms_mirid: Lenient<'a>,
    #[serde(borrow, default)]
    pub appidacr: Lenient<'a>,
    #[serde(borrow, default)]
    pub scp: Lenient<'a>,
}

/// `identity` as written: `{"claim": {...}}`.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityObject<'a> {
    #[serde(borrow, default)]
    pub claim: Option<Claims<'a>>,
}

/// The normalized caller, borrowing from the record where its claims had no escapes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Caller<'a> {
    pub oid: Option<Cow<'a, str>>,
    pub appid: Option<Cow<'a, str>>,
    pub upn: Option<Cow<'a, str>>,
    pub identity_type: &'static str,
    pub managed_identity_resource: Option<Cow<'a, str>>,
}

impl Caller<'_> {
    /// The same caller, owning its text.
    pub fn into_owned(self) -> Caller<'static> {
        let own = |v: Option<Cow<'_, str>>| v.map(|v| Cow::Owned(v.into_owned()));
        Caller {
            oid: own(self.oid),
            appid: own(self.appid),
            upn: own(self.upn),
            identity_type: self.identity_type,
            managed_identity_resource: own(self.managed_identity_resource),
        }
    }
}

/// The first non-blank value, trimmed; moved out of its claim, so a value borrowed from
/// the record stays borrowed (a call made one allocation per claim and record).
fn first<'a>(values: &mut [&mut Lenient<'a>]) -> Option<Cow<'a, str>> {
    let at = values.iter().position(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))?;
    Some(match values[at].0.take()? {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    })
}

impl<'a> Claims<'a> {
    /// Normalizes the claims into a caller.
    ///
    /// The identity type follows how Entra ID issues tokens: `xms_mirid` is present only on
    /// managed identity tokens; a user token has a `upn` (or `idtyp=user`, or a `scp`
    /// delegated scope); an app-only token has `idtyp=app` or a client-credential
    /// `appidacr` of 1 (secret) or 2 (certificate). Anything else with an object id is
    /// `unknown` rather than guessed.
    pub fn caller(mut self) -> Caller<'a> {
        let oid = first(&mut [&mut self.oid, &mut self.oid_uri]);
        let appid = first(&mut [&mut self.appid, &mut self.azp]);
        let upn = first(&mut [&mut self.upn, &mut self.upn_uri, &mut self.unique_name, &mut self.name_uri]);
        let mirid = first(&mut [&mut self.xms_mirid]);
        let idtyp_is = |v: &str| self.idtyp.as_str().is_some_and(|t| t.eq_ignore_ascii_case(v));
        let identity_type = if mirid.is_some() {
            "managed_identity"
        } else if upn.is_some() || idtyp_is("user") || self.scp.as_str().is_some() {
            "user"
        } else if idtyp_is("app") || matches!(self.appidacr.as_str(), Some("1") | Some("2")) {
            "service_principal"
        } else {
            "unknown"
        };
        Caller { oid, appid, upn, identity_type, managed_identity_resource: mirid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(json: &str) -> Caller<'_> {
        serde_json::from_str::<Claims>(json).unwrap().caller()
    }

    #[test]
    fn short_names_of_a_user() {
        let c = caller(r#"{"oid":"o1","appid":"a1","upn":"john@x","scp":"user_impersonation","xms_az_nwperimid":[]}"#);
        assert_eq!((c.oid.as_deref(), c.appid.as_deref(), c.upn.as_deref()), (Some("o1"), Some("a1"), Some("john@x")));
        assert_eq!(c.identity_type, "user");
    }

    #[test]
    fn claims_are_borrowed_unless_escaped_and_always_trimmed() {
        let json = r#"{"oid":" o1 ","appid":"","azp":"a3","upn":"john\u0040x "}"#;
        let c = serde_json::from_str::<Claims>(json).unwrap().caller();
        assert!(matches!(c.oid, Some(Cow::Borrowed("o1"))));
        // An empty claim gives way to the next one of its kind.
        assert!(matches!(c.appid, Some(Cow::Borrowed("a3"))));
        // An escape makes the value a copy; it is trimmed all the same.
        assert_eq!(c.upn.as_deref(), Some("john@x"));
        assert!(matches!(c.upn, Some(Cow::Owned(_))));
        let owned = c.clone().into_owned();
        assert_eq!(owned, c);
    }

    #[test]
    fn long_claim_uris() {
        let c = caller(
            r#"{"http://schemas.microsoft.com/identity/claims/objectidentifier":"o2","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"live.com#u@outlook.com","appid":"a2"}"#,
        );
        assert_eq!(c.oid.as_deref(), Some("o2"));
        assert_eq!(c.upn.as_deref(), Some("live.com#u@outlook.com"));
        assert_eq!(c.identity_type, "user");
    }

    #[test]
    fn apps_and_managed_identities() {
        assert_eq!(
            caller(r#"{"oid":"o","appid":"a","appidacr":"1","idtyp":"app"}"#).identity_type,
            "service_principal"
        );
        assert_eq!(caller(r#"{"oid":"o","appid":"a","appidacr":"2"}"#).identity_type, "service_principal");
        let mi = caller(
            r#"{"oid":"o","appid":"a","idtyp":"app","xms_mirid":"/subscriptions/s/.../userAssignedIdentities/mi"}"#,
        );
        assert_eq!(mi.identity_type, "managed_identity");
        assert_eq!(caller(r#"{"oid":"o"}"#).identity_type, "unknown");
    }
}
