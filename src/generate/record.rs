//! One [`Event`] → one JSON line, in the exact shape real Key Vault `AuditEvent` records
//! have (see `shared/fixtures/keyvault-real/`).
//!
//! The shape, copied from real records:
//! - keys in Key Vault's order: `time, category, operationName, resultType,
//!   [resultDescription], correlationId, callerIpAddress, identity, properties, resourceId,
//!   operationVersion, resultSignature, durationMs`;
//! - `time` with seven fractional digits; `resultType` is `Success` whatever the status;
//!   `resultSignature` is the reason phrase of `properties.httpStatusCode`; `durationMs` is a
//!   string;
//! - data-plane calls carry short claim names (`oid`, `appid`, `idtyp`, `xms_mirid`, …) and
//!   `isAccessPolicyMatch` or `isRbacAuthorized` and `tlsVersion`; `Vault*` calls carry the
//!   long claim URIs, an ARM `requestUri`, and the vault's configuration in
//!   `properties.properties`;
//! - `properties.id` names the object (with the version served) and is absent on lists.
//!
//! Event Grid notification records have no published sample; their shape here is designed
//! from the columns Log Analytics shows for them (`eventGridEventProperties_data_ObjectName_s`,
//! `…_data_EXP_d`, `…_subject_s`, `…_eventType_s`): no `identity`, the service's address,
//! and the Event Grid event under `properties.eventGridEventProperties`.
//!
//! JSON is written by hand into a reused buffer: the generator formats a million records
//! in seconds, and every dynamic string goes through [`push_escaped`].

use std::io::Write as _;

use super::event::{Caller, Event, Leak, Op, Target, reason_phrase};
use super::rng::{as_uuid_v4, push_uuid};
use super::time::{push_record_time, unix_seconds};
use super::world::{Authorization, Client, Env, Identity, Vault, World};

const OBJECT_ID_URI: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const UPN_URI: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const NAME_URI: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";

/// Appends `s` as the inside of a JSON string.
pub fn push_escaped(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                buf.extend_from_slice(&bytes[start..i]);
                let _ = write!(buf, "\\u{b:04x}");
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escape);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// `"key":"value"` (value escaped), without separators.
fn field(buf: &mut Vec<u8>, key: &str, value: &str) {
    buf.push(b'"');
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":\"");
    push_escaped(buf, value);
    buf.push(b'"');
}

/// Appends the record for `ev`, terminated by `\n`.
pub fn write_line(buf: &mut Vec<u8>, ev: &Event, world: &World) {
    let vault = &world.vaults[ev.vault];
    let (identity, client, ip) = match ev.caller {
        Caller::Identity { id, ip, client } | Caller::Anonymous { id, ip, client } => {
            let identity = &world.identities[id];
            (Some(identity), identity.clients.get(usize::from(client)), Some(ip))
        }
        Caller::Service => (None, None, None),
    };
    let management = ev.op.is_management();

    buf.extend_from_slice(b"{\"time\":\"");
    push_record_time(buf, ev.time);
    buf.extend_from_slice(b"\",\"category\":\"AuditEvent\",");
    field(buf, "operationName", ev.op.name());
    buf.extend_from_slice(b",\"resultType\":\"Success\",");
    if let Some(identity) = identity
        && (ev.status == 403 || ev.status == 404)
    {
        buf.extend_from_slice(b"\"resultDescription\":\"");
        result_description(buf, ev, world, vault, identity, client);
        buf.extend_from_slice(b"\",");
    } else if let Some(Leak::Description(text)) = ev.leak.as_deref() {
        field(buf, "resultDescription", text);
        buf.push(b',');
    }
    buf.extend_from_slice(b"\"correlationId\":\"");
    push_uuid(buf, ev.correlation);
    buf.extend_from_slice(b"\",\"callerIpAddress\":\"");
    let _ = match ip {
        Some(ip) => write!(buf, "{ip}"),
        None => write!(buf, "{}", vault.service_ip),
    };
    buf.extend_from_slice(b"\",");

    if let (Caller::Identity { .. }, Some(identity), Some(client), Some(ip)) = (ev.caller, identity, client, ip) {
        buf.extend_from_slice(b"\"identity\":{\"claim\":{");
        if management {
            management_claims(buf, identity, client);
        } else {
            data_claims(buf, identity, client, &ip.to_string());
        }
        buf.extend_from_slice(b"}},");
    }

    buf.extend_from_slice(b"\"properties\":{");
    let version = if ev.op.is_notification() {
        notification_properties(buf, ev, vault);
        "1.0"
    } else if management {
        management_properties(buf, ev, world, vault, identity, client);
        client.map_or("2023-07-01", |c| c.mgmt_api_version)
    } else {
        data_properties(buf, ev, world, vault, client);
        client.map_or("7.4", |c| c.api_version)
    };
    buf.extend_from_slice(b"},");
    field(buf, "resourceId", &vault.resource_id);
    buf.push(b',');
    field(buf, "operationVersion", version);
    buf.push(b',');
    field(buf, "resultSignature", reason_phrase(ev.status));
    let _ = writeln!(buf, ",\"durationMs\":\"{}\"}}", ev.duration_ms);
}

fn data_claims(buf: &mut Vec<u8>, identity: &Identity, client: &Client, ip: &str) {
    field(buf, "oid", &identity.oid);
    buf.push(b',');
    field(buf, "appid", &identity.appid_with(client, false));
    if identity.is_user() {
        buf.extend_from_slice(
            b",\"scp\":\"user_impersonation\",\"appidacr\":\"0\",\"idtyp\":\"user\",\"xms_az_nwperimid\":[],",
        );
        let upn = identity.upn.as_deref().unwrap_or_default();
        field(buf, "upn", upn);
        buf.push(b',');
        field(buf, "ipaddr", ip);
        buf.push(b',');
        field(buf, "unique_name", upn);
        buf.extend_from_slice(b",\"amr\":\"pwd\"");
    } else {
        buf.push(b',');
        field(buf, "appidacr", identity.appidacr);
        buf.extend_from_slice(b",\"idtyp\":\"app\",");
        if let Some(mirid) = &identity.mirid {
            field(buf, "xms_mirid", mirid);
            buf.push(b',');
        }
        buf.extend_from_slice(b"\"xms_az_nwperimid\":[]");
    }
}

fn management_claims(buf: &mut Vec<u8>, identity: &Identity, client: &Client) {
    field(buf, OBJECT_ID_URI, &identity.oid);
    if let Some(upn) = &identity.upn {
        buf.push(b',');
        field(buf, UPN_URI, upn);
        buf.push(b',');
        field(buf, NAME_URI, upn);
    }
    buf.push(b',');
    field(buf, "appid", &identity.appid_with(client, true));
}

/// The name of the object an event targets, if any.
fn object_name<'w>(ev: &Event, vault: &'w Vault) -> Option<&'w str> {
    match ev.target {
        Target::Secret { index, .. } => Some(vault.secrets[index].name),
        Target::Key { index, .. } => Some(vault.keys[index].name),
        Target::Missing { name } => Some(name),
        Target::Vault | Target::Secrets => None,
    }
}

fn data_properties(buf: &mut Vec<u8>, ev: &Event, world: &World, vault: &Vault, client: Option<&Client>) {
    let url = vault.url.as_str(); // ends with '/'
    // properties.id: the object, with the version served where Key Vault reports one.
    let mut id = String::new();
    match ev.target {
        Target::Secret { index, version, .. } => {
            let secret = &vault.secrets[index];
            id = match ev.op {
                // A refused request never reached a version (real 403/404 records name none).
                Op::SecretGet | Op::SecretSet if ev.status < 300 => {
                    format!("{url}secrets/{}/{}", secret.name, secret.versions[version].id)
                }
                Op::SecretPurge => format!("{url}deletedsecrets/{}", secret.name),
                _ => format!("{url}secrets/{}", secret.name),
            };
        }
        Target::Missing { name } => id = format!("{url}secrets/{name}"),
        Target::Key { index, version } => {
            let key = &vault.keys[index];
            id = match ev.op {
                Op::KeyGet => format!("{url}keys/{}", key.name),
                _ if ev.status >= 300 => format!("{url}keys/{}", key.name),
                _ => format!("{url}keys/{}/{}", key.name, key.versions[version].id),
            };
        }
        Target::Vault => id = url.to_owned(),
        Target::Secrets => {}
    }
    if !id.is_empty() {
        field(buf, "id", &id);
        buf.push(b',');
    }
    let info = match (ev.leak.as_deref(), client) {
        (Some(Leak::ClientInfo(text)), _) => text.as_str(),
        (_, Some(c)) => c.info,
        (_, None) => "",
    };
    field(buf, "clientInfo", info);
    let _ = write!(buf, ",\"httpStatusCode\":{},\"requestUri\":\"", ev.status);
    request_uri(buf, ev, vault, client);
    buf.extend_from_slice(b"\",");
    if ev.status != 401 {
        let allowed = if ev.status == 403 { "false" } else { "true" };
        let key = match vault.auth {
            Authorization::AccessPolicy => "isAccessPolicyMatch",
            Authorization::Rbac => "isRbacAuthorized",
        };
        let _ = write!(buf, "\"{key}\":{allowed},");
    }
    if ev.status < 300 {
        match ev.target {
            Target::Secret { index, version, .. } if ev.op == Op::SecretSet => {
                let v = &world.vaults[ev.vault].secrets[index].versions[version];
                buf.extend_from_slice(b"\"secretProperties\":{\"attributes\":{\"enabled\":true");
                if let Some(exp) = v.expires {
                    let _ = write!(buf, ",\"exp\":{}", unix_seconds(exp));
                }
                buf.extend_from_slice(b"}},");
            }
            Target::Key { .. } => {
                buf.extend_from_slice(b"\"keyProperties\":{\"type\":\"RSA\",\"attributes\":{\"hsmPlatform\":\"0\"}},")
            }
            _ => {}
        }
    }
    field(buf, "tlsVersion", client.map_or("TLS1_2", |c| c.tls));
}

fn request_uri(buf: &mut Vec<u8>, ev: &Event, vault: &Vault, client: Option<&Client>) {
    let (api, slash, portal) = client.map_or(("7.4", false, false), |c| (c.api_version, c.trailing_slash, c.portal));
    let _ = write!(buf, "https://{}.vault.azure.net", vault.name);
    let versionless = |buf: &mut Vec<u8>| {
        if slash {
            buf.push(b'/');
        }
    };
    match ev.target {
        Target::Secret { index, version, pinned } => {
            let secret = &vault.secrets[index];
            match ev.op {
                Op::SecretGet => {
                    let _ = write!(buf, "/secrets/{}", secret.name);
                    if pinned {
                        let _ = write!(buf, "/{}", secret.versions[version].id);
                    } else {
                        versionless(buf);
                    }
                }
                Op::SecretListVersions => {
                    let _ = write!(buf, "/secrets/{}/versions", secret.name);
                }
                Op::SecretBackup => {
                    let _ = write!(buf, "/secrets/{}/backup", secret.name);
                }
                Op::SecretPurge => {
                    let _ = write!(buf, "/deletedsecrets/{}", secret.name);
                }
                _ => {
                    let _ = write!(buf, "/secrets/{}", secret.name);
                }
            }
        }
        Target::Missing { name } => {
            let _ = write!(buf, "/secrets/{name}");
            versionless(buf);
        }
        Target::Key { index, version } => {
            let key = &vault.keys[index];
            let action = match ev.op {
                Op::KeySign => "sign",
                Op::KeyWrap => "wrapkey",
                Op::KeyUnwrap => "unwrapkey",
                _ => "",
            };
            if action.is_empty() {
                let _ = write!(buf, "/keys/{}", key.name);
                versionless(buf);
            } else {
                let _ = write!(buf, "/keys/{}/{}/{action}", key.name, key.versions[version].id);
            }
        }
        Target::Secrets => buf.extend_from_slice(b"/secrets"),
        Target::Vault => {}
    }
    let _ = write!(buf, "?api-version={api}");
    if portal && ev.op == Op::SecretList {
        buf.extend_from_slice(b"&maxresults=25");
    }
    if let Some(Leak::Query(query)) = ev.leak.as_deref() {
        push_escaped(buf, query);
    }
}

fn management_properties(
    buf: &mut Vec<u8>,
    ev: &Event,
    world: &World,
    vault: &Vault,
    identity: Option<&Identity>,
    client: Option<&Client>,
) {
    field(buf, "id", &vault.url);
    buf.push(b',');
    let (info, host, query, api) = client.map_or(("", "management.azure.com", "", "2023-07-01"), |c| {
        (c.mgmt_info, c.mgmt_host, c.mgmt_query, c.mgmt_api_version)
    });
    field(buf, "clientInfo", info);
    buf.extend_from_slice(b",\"requestUri\":\"");
    let _ = write!(buf, "https://{host}{}?api-version={api}{query}", vault.arm_path);
    let _ = write!(buf, "\",\"httpStatusCode\":{},\"properties\":{{", ev.status);
    buf.extend_from_slice(b"\"sku\":{\"Family\":\"A\",\"Name\":\"standard\",\"Capacity\":null},");
    field(buf, "tenantId", &world.tenant_id);
    if vault.env == Env::Prod {
        buf.extend_from_slice(b",\"networkAcls\":{\"bypass\":\"AzureServices\",\"defaultAction\":\"Allow\"}");
    } else {
        buf.extend_from_slice(b",\"networkAcls\":null");
    }
    buf.extend_from_slice(
        b",\"enabledForDeployment\":false,\"enabledForDiskEncryption\":false,\"enabledForTemplateDeployment\":false,\"enableSoftDelete\":true,\"softDeleteRetentionInDays\":90",
    );
    let rbac = vault.auth == Authorization::Rbac;
    let _ = write!(buf, ",\"enableRbacAuthorization\":{rbac}");
    if vault.purge_protection {
        buf.extend_from_slice(b",\"enablePurgeProtection\":true");
    } else {
        buf.extend_from_slice(b",\"enablePurgeProtection\":null");
    }
    if ev.op == Op::VaultPut && ev.policy_change {
        access_policies(buf, world, ev.vault, identity);
    }
    buf.push(b'}');
}

/// The access policies a `VaultPut` writes: one per application reading the vault, then the
/// caller's new grant.
fn access_policies(buf: &mut Vec<u8>, world: &World, vault: usize, caller: Option<&Identity>) {
    let mut oids: Vec<&str> = Vec::new();
    for app in &world.apps {
        if app.reads.iter().any(|r| r.target.vault() == vault) {
            let oid = world.identities[app.identity].oid.as_str();
            if !oids.contains(&oid) {
                oids.push(oid);
            }
        }
    }
    if let Some(caller) = caller {
        oids.push(caller.oid.as_str());
    }
    buf.extend_from_slice(b",\"accessPolicies\":[");
    for (i, oid) in oids.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'{');
        field(buf, "tenantId", &world.tenant_id);
        buf.push(b',');
        field(buf, "objectId", oid);
        buf.extend_from_slice(
            b",\"permissions\":{\"keys\":[],\"secrets\":[\"Get\",\"List\"],\"certificates\":[],\"storage\":[]}}",
        );
    }
    buf.push(b']');
}

fn notification_properties(buf: &mut Vec<u8>, ev: &Event, vault: &Vault) {
    let (event_type, object_type, name, version, exp) = match ev.target {
        Target::Secret { index, version, .. } => {
            let secret = &vault.secrets[index];
            let v = &secret.versions[version];
            let event_type = if ev.op == Op::SecretExpiredEventGridNotification {
                "Microsoft.KeyVault.SecretExpired"
            } else {
                "Microsoft.KeyVault.SecretNearExpiry"
            };
            (event_type, "Secret", secret.name, Some(v.id.as_str()), v.expires)
        }
        _ => ("Microsoft.KeyVault.VaultAccessPolicyChanged", "Vault", vault.name.as_str(), None, None),
    };
    let id = match version {
        Some(v) => format!("{}secrets/{name}/{v}", vault.url),
        None => vault.url.clone(),
    };
    field(buf, "id", &id);
    let _ = write!(buf, ",\"httpStatusCode\":{},\"eventGridEventProperties\":{{\"id\":\"", ev.status);
    // A second id for the Event Grid event, derived so that no randomness is drawn here.
    push_uuid(buf, as_uuid_v4(ev.correlation.rotate_left(64)));
    buf.extend_from_slice(b"\",");
    field(buf, "topic", &vault.arm_path);
    buf.push(b',');
    field(buf, "subject", name);
    buf.push(b',');
    field(buf, "eventType", event_type);
    buf.extend_from_slice(b",\"eventTime\":\"");
    push_record_time(buf, ev.time);
    buf.extend_from_slice(b"\",\"data\":{");
    field(buf, "Id", &id);
    buf.push(b',');
    field(buf, "VaultName", &vault.name);
    buf.push(b',');
    field(buf, "ObjectType", object_type);
    buf.push(b',');
    field(buf, "ObjectName", name);
    match version {
        Some(v) => {
            buf.push(b',');
            field(buf, "Version", v);
        }
        None => buf.extend_from_slice(b",\"Version\":null"),
    }
    buf.extend_from_slice(b",\"NBF\":null");
    match exp {
        Some(exp) => {
            let _ = write!(buf, ",\"EXP\":{}", unix_seconds(exp));
        }
        None => buf.extend_from_slice(b",\"EXP\":null"),
    }
    buf.extend_from_slice(b"},\"dataVersion\":\"1\",\"metadataVersion\":\"1\"}");
}

/// The refusal text Key Vault writes for 403 (access policy or RBAC) and 404.
fn result_description(
    buf: &mut Vec<u8>,
    ev: &Event,
    world: &World,
    vault: &Vault,
    identity: &Identity,
    client: Option<&Client>,
) {
    let name = object_name(ev, vault).unwrap_or_default();
    if ev.status == 404 {
        let text = format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        );
        push_escaped(buf, &text);
        return;
    }
    let appid = client.map_or_else(|| identity.appid.clone(), |c| identity.appid_with(c, false));
    let caller = format!("appid={appid};oid={};iss=https://sts.windows.net/{}/", identity.oid, world.tenant_id);
    let (permission, action) = match ev.op {
        Op::SecretGet => ("secrets get", "secrets/getSecret/action"),
        Op::SecretList | Op::SecretListVersions => ("secrets list", "secrets/readMetadata/action"),
        Op::SecretSet => ("secrets set", "secrets/setSecret/action"),
        Op::SecretDelete => ("secrets delete", "secrets/delete"),
        Op::SecretPurge => ("secrets purge", "deletedSecrets/delete"),
        Op::SecretBackup => ("secrets backup", "secrets/backup/action"),
        Op::KeyGet => ("keys get", "keys/read"),
        Op::KeySign => ("keys sign", "keys/sign/action"),
        Op::KeyWrap => ("keys wrapKey", "keys/wrap/action"),
        Op::KeyUnwrap => ("keys unwrapKey", "keys/unwrap/action"),
        _ => ("", "read"),
    };
    let text = match vault.auth {
        Authorization::AccessPolicy => format!(
            "The user, group or application '{caller}' does not have {permission} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            vault.name, vault.location
        ),
        Authorization::Rbac => {
            let mut resource = format!(
                "/subscriptions/{}/resourcegroups/{}/providers/microsoft.keyvault/vaults/{}",
                vault.subscription, vault.resource_group, vault.name
            );
            if !name.is_empty() {
                let kind = if matches!(ev.target, Target::Key { .. }) { "keys" } else { "secrets" };
                resource = format!("{resource}/{kind}/{name}");
            }
            format!(
                "Caller is not authorized to perform action on resource.\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\nCaller: {caller}\nAction: 'Microsoft.KeyVault/vaults/{action}'\nResource: '{resource}'\nAssignment: (not found)\nDenyAssignmentId: null\nDecisionReason: null \nVault: {};location={}",
                vault.name, vault.location
            )
        }
    };
    push_escaped(buf, &text);
}
