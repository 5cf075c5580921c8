//! The story: which vaults, secrets, applications, people and jobs exist, who reads what
//! and how often, which secrets are rotated, created or left to rot.
//!
//! Everything here is a plain statement about the organisation (Contoso, two subscriptions,
//! six vaults). The lifecycle and practice findings of the truth file are derived from these
//! statements by rule ([`super::truth`]), so a change here cannot leave the truth behind.
//! Planted unusual access lives in [`super::incidents`]; this file only provides the cast
//! members and addresses it needs ([`Handles`]).
//!
//! Rates are requests per hour at an application's busiest hour at scale 1; together they
//! make about 25–30 thousand records a day.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::event::Op;
use super::rng::{self, Rand};
use super::time::{DAY, HOUR, MINUTE, Ticks};
use super::world::{
    Authorization, BUSINESS, Backup, Builder, CONSUMER, CertSync, Client, Env, IdentityId, IdentityKind, Person, Place,
    ReadTarget, Role, Rotator, STEADY, Scanner, SecretRef, SecretSpec, VaultId, VaultSpec, World,
};

/// Azure Resource Graph's first-party application id.
pub const RESOURCE_GRAPH_APPID: &str = "509e4652-da8d-478d-a730-e9d4a1996ca4";
/// Azure Policy Insights' first-party application id.
pub const POLICY_INSIGHTS_APPID: &str = "8cae6e77-e04e-42ce-b5cb-50d82bce26b1";
/// Microsoft Azure App Service (`Microsoft.Azure.WebSites`).
pub const APP_SERVICE_APPID: &str = "abfa0a7c-a6b6-4736-8310-5855508787cd";
/// Microsoft Azure CLI.
pub const AZURE_CLI_APPID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/// Azure Portal, on management calls.
pub const PORTAL_APPID: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
/// The application the portal's Key Vault blade uses on data-plane calls, as seen in real
/// records (`sekoia-2024.jsonl`).
pub const PORTAL_DATA_APPID: &str = "3686488a-04fc-4d8a-b967-61f98ec41efe";

const fn sdk(info: &'static str, api_version: &'static str, tls: &'static str, trailing_slash: bool) -> Client {
    Client {
        info,
        appid: None,
        mgmt_appid: None,
        mgmt_info: "",
        api_version,
        mgmt_api_version: "2023-07-01",
        mgmt_host: "management.azure.com",
        mgmt_query: "",
        tls,
        trailing_slash,
        portal: false,
    }
}

const DOTNET: Client =
    sdk("azsdk-net-Security.KeyVault.Secrets/4.6.0 (.NET 8.0.8; Ubuntu 22.04.4 LTS)", "7.5", "TLS1_2", false);
const DOTNET_KEYS: Client =
    sdk("azsdk-net-Security.KeyVault.Keys/4.6.0 (.NET 8.0.8; Ubuntu 22.04.4 LTS)", "7.5", "TLS1_2", false);
const DOTNET_FUNCTIONS: Client =
    sdk("azsdk-net-Security.KeyVault.Secrets/4.6.0 (.NET 8.0.7; Microsoft Windows 10.0.20348)", "7.5", "TLS1_2", false);
const JAVA: Client =
    sdk("azsdk-java-azure-security-keyvault-secrets/4.8.3 (17.0.11; Linux; 5.15.0-1064-azure)", "7.5", "TLS1_2", false);
const PYTHON: Client = sdk(
    "azsdk-python-keyvault-secrets/4.8.0 Python/3.11.9 (Linux-5.15.0-1064-azure-x86_64-with-glibc2.35)",
    "7.4",
    "TLS1_2",
    true,
);
const PYTHON_KEYS: Client = sdk(
    "azsdk-python-keyvault-keys/4.9.0 Python/3.11.9 (Linux-5.15.0-1064-azure-x86_64-with-glibc2.35)",
    "7.4",
    "TLS1_2",
    true,
);
const PYTHON_BACKUP: Client = sdk(
    "kv-backup/2.3.1 azsdk-python-keyvault-secrets/4.8.0 Python/3.11.9 (Linux-5.15.0-1064-azure-x86_64-with-glibc2.35)",
    "7.4",
    "TLS1_2",
    true,
);
const PYTHON_WINDOWS: Client =
    sdk("azsdk-python-keyvault-secrets/4.8.0 Python/3.12.4 (Windows-10-10.0.19045-SP0)", "7.4", "TLS1_3", true);
const NODE: Client = sdk(
    "azsdk-js-keyvault-secrets/4.8.0 core-rest-pipeline/1.16.3 Node/v20.15.1 OS/(x64-Linux-5.15.0-1064-azure)",
    "7.5",
    "TLS1_3",
    false,
);
const GO: Client = sdk("azsdk-go-azsecrets/v1.1.0 (go1.22.5; linux)", "7.5", "TLS1_3", false);
const GRAFANA: Client = sdk("Grafana/11.2.0 azsdk-go-azsecrets/v1.1.0 (go1.22.5; linux)", "7.5", "TLS1_3", false);
const BUILD_AGENT: Client = sdk(
    "AZURECLI/2.64.0 (DEB) (AzureDevOps) azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 (Linux-6.5.0-1025-azure-x86_64-with-glibc2.35)",
    "7.5",
    "TLS1_2",
    true,
);
const STORAGE_CMK: Client = sdk("AzureStorageResourceProvider/1.0 KeyVaultKeyClient", "7.4", "TLS1_2", false);
const APP_SERVICE: Client = sdk("Microsoft.Web/AppServiceCertificateSync/1.0", "7.4", "TLS1_2", false);

const PORTAL: Client = Client {
    info: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
    appid: Some(PORTAL_DATA_APPID),
    mgmt_appid: Some(PORTAL_APPID),
    mgmt_info: "Mozilla/5.0",
    api_version: "7.4",
    mgmt_api_version: "2023-08-01-preview",
    mgmt_host: "management.azure.com",
    mgmt_query: "",
    tls: "TLS1_3",
    trailing_slash: false,
    portal: true,
};
const PORTAL_MAC: Client = Client {
    info: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    ..PORTAL
};
const CLI: Client = Client {
    info: "AZURECLI/2.65.0 (DEB) azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 (Linux-6.8.0-1015-azure-x86_64-with-glibc2.35)",
    appid: Some(AZURE_CLI_APPID),
    mgmt_appid: Some(AZURE_CLI_APPID),
    mgmt_info: "AZURECLI/2.65.0 (DEB)",
    api_version: "7.5",
    mgmt_api_version: "2023-07-01",
    mgmt_host: "management.azure.com",
    mgmt_query: "",
    tls: "TLS1_2",
    trailing_slash: true,
    portal: false,
};
const CLI_WINDOWS: Client = Client {
    info: "AZURECLI/2.65.0 (MSI) azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 (Windows-10-10.0.22631-SP0)",
    mgmt_info: "AZURECLI/2.65.0 (MSI)",
    ..CLI
};
const RESOURCE_GRAPH: Client = Client {
    info: "AzureResourceGraph.IngestionWorkerService.global/1.24.2.186",
    mgmt_host: "westeurope.management.azure.com",
    mgmt_query: "&MaskCMKEnabledProperties=true",
    mgmt_info: "AzureResourceGraph.IngestionWorkerService.global/1.24.2.186",
    mgmt_api_version: "2023-07-01",
    ..sdk("", "", "TLS1_2", false)
};
const POLICY: Client = Client {
    info: "AzurePolicyInsights.ComplianceScanner/1.0",
    mgmt_info: "AzurePolicyInsights.ComplianceScanner/1.0",
    mgmt_api_version: "2022-07-01",
    ..sdk("", "", "TLS1_2", false)
};

const TAGS_PAYMENTS_PROD: &[(&str, &str)] = &[("env", "prod"), ("owner", "team-payments")];
const TAGS_PAYMENTS_DEV: &[(&str, &str)] = &[("env", "dev"), ("owner", "team-payments")];
const TAGS_WEB: &[(&str, &str)] = &[("env", "prod"), ("owner", "team-web")];
const TAGS_DATA_PROD: &[(&str, &str)] = &[("costCenter", "cc-4410"), ("env", "prod"), ("owner", "team-data")];
const TAGS_DATA_TEST: &[(&str, &str)] = &[("env", "test"), ("owner", "team-data")];
const TAGS_PLATFORM: &[(&str, &str)] = &[("env", "prod"), ("owner", "team-platform")];
const NO_TAGS: &[(&str, &str)] = &[];

/// The cast members and addresses planted incidents need.
#[derive(Debug, Clone)]
pub struct Handles {
    pub pay_prod: VaultId,
    pub pay_dev: VaultId,
    pub web_prod: VaultId,
    pub data_prod: VaultId,
    pub data_test: VaultId,
    pub shared_prod: VaultId,
    pub payments_api: IdentityId,
    pub web_frontend: IdentityId,
    pub web_frontend_app: usize,
    pub data_pipeline_test: IdentityId,
    pub build_agent: IdentityId,
    /// Echoes its access token into Key Vault's logs (`secret_in_log`, a JWT).
    pub platform_gateway: IdentityId,
    pub reporting_etl: IdentityId,
    pub reporting_app: usize,
    pub alice: IdentityId,
    pub bob: IdentityId,
    pub carol: IdentityId,
    pub dave: IdentityId,
    pub erin: IdentityId,
    /// The payments API's credential used from outside (`new_ip`).
    pub stolen_from: Ipv4Addr,
    pub stolen_client: u8,
    pub tmp_migration_token: SecretRef,
    /// When the new reporting identity first reads (`new_identity`).
    pub reporting_from: Ticks,
}

/// A secret of ordinary age: created after the period's start minus five days and less than
/// a year before its end, valid a year (so it is neither near expiry nor past max age).
fn ordinary(
    rng: &mut Rand,
    days: u32,
    name: &'static str,
    tags: &'static [(&'static str, &'static str)],
) -> SecretSpec {
    let days = i64::from(days);
    let age_days = days + 5 + rng::pick(rng, (320 - days).max(1) as usize) as i64;
    SecretSpec {
        name,
        content_type: None,
        tags,
        age_days,
        valid_days: Some(365),
        history: rng::pick(rng, 3),
        managed: false,
    }
}

fn typed(mut spec: SecretSpec, content_type: &'static str) -> SecretSpec {
    spec.content_type = Some(content_type);
    spec
}

/// Builds the world of team `team` for a period of `days` days from `start`: team 0 is the
/// organisation as named above; team `k > 0` is a replica of it with `-tKK` appended to its
/// vault, identity and resource names and UPNs, and its own subscriptions, ids, networks
/// (none in `used_prefixes`, which gains this team's), secrets and versions, all drawn from
/// `rng`. Microsoft services keep their names (see [`share_microsoft_services`]).
pub fn build(rng: Rand, start: Ticks, days: u32, team: u32, used_prefixes: &mut HashSet<[u8; 3]>) -> (World, Handles) {
    let sfx = if team == 0 { String::new() } else { format!("-t{team:02}") };
    let named = |base: &str| format!("{base}{sfx}");
    // Storage account names are lower-case letters and digits only.
    let storage_name = format!("stdataprod01{}", sfx.replace('-', ""));
    let (mut b, subs) = Builder::new(rng, start, days, 2);
    b.used_prefixes = std::mem::take(used_prefixes);
    let (prod_sub, nonprod_sub) = (subs[0].clone(), subs[1].clone());
    let at = |b: &Builder, f: f64, h: i64, m: i64| b.world().at(f, h, m);
    let workday = |b: &Builder, f: f64, h: i64, m: i64| b.world().workday_at(f, h, m);

    // ---- Vaults -------------------------------------------------------------------------
    let vault = |b: &mut Builder, name: String, sub: &str, rg, location, env, auth, purge_protection| {
        let spec = VaultSpec { name, resource_group: rg, location, env, auth, purge_protection };
        b.vault(spec, sub)
    };
    use Authorization::{AccessPolicy, Rbac};
    let pay_prod = vault(
        &mut b,
        named("kv-payments-prod"),
        &prod_sub,
        "rg-payments-prod",
        "westeurope",
        Env::Prod,
        AccessPolicy,
        true,
    );
    let pay_dev = vault(
        &mut b,
        named("kv-payments-dev"),
        &nonprod_sub,
        "rg-payments-dev",
        "westeurope",
        Env::Dev,
        AccessPolicy,
        false,
    );
    let web_prod = vault(&mut b, named("kv-web-prod"), &prod_sub, "rg-web-prod", "northeurope", Env::Prod, Rbac, true);
    let data_prod =
        vault(&mut b, named("kv-data-prod"), &prod_sub, "rg-data-prod", "westeurope", Env::Prod, Rbac, true);
    let data_test = vault(
        &mut b,
        named("kv-data-test"),
        &nonprod_sub,
        "rg-data-test",
        "westeurope",
        Env::Test,
        AccessPolicy,
        false,
    );
    let shared_prod = vault(
        &mut b,
        named("kv-shared-prod"),
        &prod_sub,
        "rg-platform-shared",
        "westeurope",
        Env::Prod,
        AccessPolicy,
        true,
    );

    // ---- Secrets and keys ---------------------------------------------------------------
    let ord = |b: &mut Builder, v: VaultId, name, tags| {
        let spec = ordinary(&mut b.rng, days, name, tags);
        b.secret(v, spec)
    };
    let pp_db = ord(&mut b, pay_prod, "db-password", TAGS_PAYMENTS_PROD);
    let pp_stripe = ord(&mut b, pay_prod, "stripe-api-key", TAGS_PAYMENTS_PROD);
    let pp_jwt = ord(&mut b, pay_prod, "jwt-signing-key", TAGS_PAYMENTS_PROD);
    // Near expiry: a one-year secret expiring 3–20 days after the end, so that Key Vault's
    // 30-day notification falls inside the period (about 60% of the way through a month).
    let webhook_expiry = (at(&b, 0.6, 8, 30) + 30 * DAY).clamp(b.world().end + 3 * DAY, b.world().end + 20 * DAY);
    let pp_webhook = b.secret(
        pay_prod,
        SecretSpec {
            name: "stripe-webhook-secret",
            content_type: Some("text/plain"),
            tags: TAGS_PAYMENTS_PROD,
            age_days: (b.world().end - webhook_expiry) / DAY + 365,
            valid_days: Some(365),
            history: 1,
            managed: false,
        },
    );
    if let Some(v) = b.secret_mut(pp_webhook).versions.last_mut() {
        v.expires = Some(webhook_expiry);
    }
    let pp_queue = ord(&mut b, pay_prod, "queue-connection", TAGS_PAYMENTS_PROD);
    let pp_ledger = ord(&mut b, pay_prod, "ledger-db-password", TAGS_PAYMENTS_PROD);
    let pp_fraud = ord(&mut b, pay_prod, "fraud-model-api-key", TAGS_PAYMENTS_PROD);
    let pp_signing = b.key(pay_prod, "payments-signing-key", 200);

    let pd_db = ord(&mut b, pay_dev, "db-password", TAGS_PAYMENTS_DEV);
    let pd_stripe = ord(&mut b, pay_dev, "stripe-api-key", TAGS_PAYMENTS_DEV);
    let pd_jwt = ord(&mut b, pay_dev, "jwt-signing-key", TAGS_PAYMENTS_DEV);
    // Without expiry: created by hand in the portal, nobody set one.
    let spec = SecretSpec { valid_days: None, ..ordinary(&mut b.rng, days, "sandbox-api-key", NO_TAGS) };
    let pd_sandbox = b.secret(pay_dev, spec);
    // Past max age: created 400 days before the end with a two-year expiry, never rotated.
    let pd_merchant = b.secret(
        pay_dev,
        SecretSpec {
            name: "test-merchant-key",
            content_type: None,
            tags: TAGS_PAYMENTS_DEV,
            age_days: 400,
            valid_days: Some(730),
            history: 0,
            managed: false,
        },
    );
    let pd_tokenizer = ord(&mut b, pay_dev, "test-card-tokenizer-key", TAGS_PAYMENTS_DEV);

    let wp_session = ord(&mut b, web_prod, "session-secret", TAGS_WEB);
    let wp_redis = ord(&mut b, web_prod, "redis-password", TAGS_WEB);
    let wp_recaptcha = ord(&mut b, web_prod, "recaptcha-secret", TAGS_WEB);
    let wp_oauth = ord(&mut b, web_prod, "oauth-client-secret", TAGS_WEB);
    let wp_flags = ord(&mut b, web_prod, "feature-flag-sdk-key", TAGS_WEB);
    let spec = SecretSpec { valid_days: None, ..ordinary(&mut b.rng, days, "cdn-signing-key", TAGS_WEB) };
    let wp_cdn = b.secret(web_prod, spec);
    let wp_maps = ord(&mut b, web_prod, "google-maps-key", TAGS_WEB);
    let wp_sendgrid = ord(&mut b, web_prod, "sendgrid-api-key", TAGS_WEB);
    let wp_old_sendgrid = ord(&mut b, web_prod, "old-sendgrid-key", TAGS_WEB);
    let wp_analytics = ord(&mut b, web_prod, "analytics-write-key", TAGS_WEB);
    let wp_cert = b.secret(
        web_prod,
        SecretSpec {
            name: "web-tls-cert",
            content_type: Some("application/x-pkcs12"),
            tags: TAGS_WEB,
            age_days: 200,
            valid_days: Some(365),
            history: 1,
            managed: true,
        },
    );

    // Past max age: the admin password nobody dares to rotate.
    let dp_sql = b.secret(
        data_prod,
        SecretSpec {
            name: "sql-admin-password",
            content_type: Some("text/plain"),
            tags: TAGS_DATA_PROD,
            age_days: 430,
            valid_days: Some(730),
            history: 0,
            managed: false,
        },
    );
    let dp_storage = ord(&mut b, data_prod, "storage-account-key", TAGS_DATA_PROD);
    let dp_eventhub = typed(ordinary(&mut b.rng, days, "eventhub-connection", TAGS_DATA_PROD), "text/plain");
    let dp_eventhub = b.secret(data_prod, dp_eventhub);
    let dp_databricks = ord(&mut b, data_prod, "databricks-token", TAGS_DATA_PROD);
    let dp_snowflake = ord(&mut b, data_prod, "snowflake-password", TAGS_DATA_PROD);
    let dp_cosmos = ord(&mut b, data_prod, "cosmos-key", TAGS_DATA_PROD);
    let dp_powerbi = ord(&mut b, data_prod, "powerbi-sp-secret", TAGS_DATA_PROD);
    let dp_kek = b.key(data_prod, "pipeline-kek", 250);
    let dp_cmk = b.key(data_prod, "storage-cmk", 300);

    let dt_sql = ord(&mut b, data_test, "sql-password", TAGS_DATA_TEST);
    let dt_storage = ord(&mut b, data_test, "storage-account-key", TAGS_DATA_TEST);
    let dt_eventhub = ord(&mut b, data_test, "eventhub-connection", TAGS_DATA_TEST);
    let dt_databricks = ord(&mut b, data_test, "databricks-token", TAGS_DATA_TEST);

    let sp_smtp = ord(&mut b, shared_prod, "smtp-password", TAGS_PLATFORM);
    let sp_pagerduty = ord(&mut b, shared_prod, "pagerduty-routing-key", TAGS_PLATFORM);
    // Expires inside the period and is still read afterwards (`expired_secret_in_use`).
    let partner_expiry = at(&b, 0.6, 9, 0);
    let sp_partner = b.secret(
        shared_prod,
        SecretSpec {
            name: "partner-api-key",
            content_type: None,
            tags: TAGS_PLATFORM,
            age_days: (b.world().end - partner_expiry) / DAY + 300,
            valid_days: Some(300),
            history: 1,
            managed: false,
        },
    );
    if let Some(v) = b.secret_mut(sp_partner).versions.last_mut() {
        v.expires = Some(partner_expiry);
    }
    let sp_tls = ord(&mut b, shared_prod, "tls-client-cert-password", TAGS_PLATFORM);
    let sp_grafana = ord(&mut b, shared_prod, "grafana-admin-password", TAGS_PLATFORM);
    let sp_slack = ord(&mut b, shared_prod, "slack-webhook-url", TAGS_PLATFORM);
    let sp_github = ord(&mut b, shared_prod, "github-app-private-key", TAGS_PLATFORM);
    let sp_docker = ord(&mut b, shared_prod, "dockerhub-token", TAGS_PLATFORM);
    let sp_artifactory = ord(&mut b, shared_prod, "artifactory-token", TAGS_PLATFORM);
    // Never read by anyone: the FTP server it opened was retired (`stale_secret`).
    let spec = SecretSpec { age_days: 230, ..ordinary(&mut b.rng, days, "legacy-ftp-password", NO_TAGS) };
    let sp_ftp = b.secret(shared_prod, spec);
    b.secret_mut(sp_ftp).unread_from = Some(start);

    // ---- Workload identities and their steady reads -------------------------------------
    let mirid = |sub: &str, rg: &str, provider: &str, name: &str| {
        format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/{provider}/{name}")
    };
    let uami = "Microsoft.ManagedIdentity/userAssignedIdentities";

    let payments_api = b.identity(named("payments-api"), IdentityKind::ServicePrincipal, "1");
    b.network(payments_api, "payments-api aks egress", Place::Azure, 4);
    b.identity_mut(payments_api).clients = vec![DOTNET, DOTNET_KEYS, PYTHON_WINDOWS];
    let stolen_client = 2;
    let app = b.app(payments_api, &BUSINESS, 1, 0.6);
    b.read(app, ReadTarget::Secret(pp_db), 150.0);
    b.read(app, ReadTarget::Secret(pp_stripe), 90.0);
    b.read(app, ReadTarget::Secret(pp_jwt), 60.0);
    b.read(app, ReadTarget::Secret(pp_webhook), 30.0);
    b.read(app, ReadTarget::Missing { vault: pay_prod, name: "optional-feature-override" }, 3.0);
    b.read(app, ReadTarget::Key { key: pp_signing, op: Op::KeySign }, 100.0).client = 1;

    let payments_worker = b.identity(named("payments-worker"), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(payments_worker).mirid =
        Some(mirid(&prod_sub, "rg-payments-prod", uami, &named("id-payments-worker")));
    b.network(payments_worker, "payments-worker aks egress", Place::Azure, 3);
    b.identity_mut(payments_worker).clients = vec![JAVA];
    let app = b.app(payments_worker, &STEADY, 1, 0.8);
    b.read(app, ReadTarget::Secret(pp_queue), 80.0);
    b.read(app, ReadTarget::Secret(pp_ledger), 60.0);
    b.read(app, ReadTarget::Secret(pp_fraud), 30.0);
    // A production worker configured with one development secret (`environment_crossover`).
    b.read(app, ReadTarget::Secret(pd_tokenizer), 5.0);

    let payments_api_dev = b.identity(named("payments-api-dev"), IdentityKind::ServicePrincipal, "1");
    b.network(payments_api_dev, "payments dev egress", Place::Azure, 2);
    b.identity_mut(payments_api_dev).clients = vec![DOTNET];
    let app = b.app(payments_api_dev, &BUSINESS, 1, 0.2);
    b.read(app, ReadTarget::Secret(pd_db), 18.0);
    b.read(app, ReadTarget::Secret(pd_stripe), 12.0);
    b.read(app, ReadTarget::Secret(pd_jwt), 8.0);
    b.read(app, ReadTarget::Secret(pd_sandbox), 6.0);
    b.read(app, ReadTarget::Secret(pd_merchant), 4.0);

    let web_frontend = b.identity(named("web-frontend"), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(web_frontend).mirid =
        Some(mirid(&prod_sub, "rg-web-prod", "Microsoft.Web/sites", &named("app-web-frontend-prod")));
    b.network(web_frontend, "app service outbound", Place::Azure, 5);
    b.identity_mut(web_frontend).clients = vec![NODE];
    let web_frontend_app = b.app(web_frontend, &CONSUMER, 1, 1.1);
    for (secret, rate) in [
        (wp_session, 110.0),
        (wp_redis, 80.0),
        (wp_recaptcha, 40.0),
        (wp_oauth, 40.0),
        (wp_flags, 30.0),
        (wp_cdn, 20.0),
        (wp_maps, 15.0),
    ] {
        b.read(web_frontend_app, ReadTarget::Secret(secret), rate);
    }

    // Reads the same Redis password as the frontend (`shared_secret`), and switched from
    // the old SendGrid key to the new one early in the period (`stale_secret`).
    let web_worker = b.identity(named("web-worker"), IdentityKind::ServicePrincipal, "2");
    b.network(web_worker, "web worker egress", Place::Azure, 2);
    b.identity_mut(web_worker).clients = vec![DOTNET];
    let app = b.app(web_worker, &STEADY, 1, 0.9);
    let sendgrid_switch = at(&b, 0.2, 11, 0);
    b.read(app, ReadTarget::Secret(wp_redis), 40.0);
    b.read(app, ReadTarget::Secret(wp_sendgrid), 25.0).from = Some(sendgrid_switch);
    b.read(app, ReadTarget::Secret(wp_old_sendgrid), 25.0).until = Some(sendgrid_switch);
    b.secret_mut(wp_old_sendgrid).unread_from = Some(sendgrid_switch);
    b.read(app, ReadTarget::Secret(wp_analytics), 15.0);

    let data_pipeline = b.identity(named("data-pipeline"), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(data_pipeline).mirid = Some(mirid(&prod_sub, "rg-data-prod", uami, &named("id-data-pipeline")));
    b.network(data_pipeline, "aks private endpoint subnet", Place::Private, 4);
    b.identity_mut(data_pipeline).clients = vec![PYTHON, PYTHON_KEYS];
    let app = b.app(data_pipeline, &STEADY, 0, 0.9);
    b.read(app, ReadTarget::Secret(dp_sql), 60.0);
    // Pinned to the version it was deployed with; never follows the rotation
    // (`old_version_in_use`).
    b.read(app, ReadTarget::Secret(dp_storage), 50.0).stuck = true;
    b.read(app, ReadTarget::Secret(dp_eventhub), 50.0);
    b.read(app, ReadTarget::Secret(dp_databricks), 30.0);
    b.read(app, ReadTarget::Secret(dp_snowflake), 25.0);
    b.read(app, ReadTarget::Secret(dp_cosmos), 20.0);
    b.read(app, ReadTarget::Secret(dp_powerbi), 8.0);
    b.read(app, ReadTarget::Key { key: dp_kek, op: Op::KeyUnwrap }, 60.0).client = 1;

    // The storage account's own identity wrapping and unwrapping its customer-managed key.
    let storage_mi = b.identity(storage_name.clone(), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(storage_mi).mirid =
        Some(mirid(&prod_sub, "rg-data-prod", "Microsoft.Storage/storageAccounts", &storage_name));
    b.network(storage_mi, "azure storage", Place::Azure, 2);
    b.identity_mut(storage_mi).clients = vec![STORAGE_CMK];
    let app = b.app(storage_mi, &STEADY, 0, 1.0);
    let cmk = |op| ReadTarget::Key { key: dp_cmk, op };
    b.read(app, cmk(Op::KeyUnwrap), 8.0);
    b.read(app, cmk(Op::KeyWrap), 2.0);
    b.read(app, cmk(Op::KeyGet), 2.0);

    let data_pipeline_test = b.identity(named("data-pipeline-test"), IdentityKind::ServicePrincipal, "1");
    b.network(data_pipeline_test, "data test runners", Place::Azure, 2);
    b.identity_mut(data_pipeline_test).clients = vec![PYTHON];
    let app = b.app(data_pipeline_test, &BUSINESS, 1, 0.3);
    b.read(app, ReadTarget::Secret(dt_sql), 12.0);
    b.read(app, ReadTarget::Secret(dt_storage), 10.0);
    b.read(app, ReadTarget::Secret(dt_eventhub), 10.0);
    b.read(app, ReadTarget::Secret(dt_databricks), 6.0);

    let platform_gateway = b.identity(named("platform-gateway"), IdentityKind::ServicePrincipal, "2");
    b.network(platform_gateway, "gateway egress", Place::Azure, 3);
    b.identity_mut(platform_gateway).clients = vec![GO];
    let app = b.app(platform_gateway, &BUSINESS, 1, 0.7);
    b.read(app, ReadTarget::Secret(sp_smtp), 40.0);
    b.read(app, ReadTarget::Secret(sp_pagerduty), 30.0);
    b.read(app, ReadTarget::Secret(sp_partner), 45.0);
    b.read(app, ReadTarget::Secret(sp_tls), 25.0);

    let grafana = b.identity(named("grafana"), IdentityKind::ServicePrincipal, "1");
    b.network(grafana, "grafana", Place::Azure, 1);
    b.identity_mut(grafana).clients = vec![GRAFANA];
    let app = b.app(grafana, &STEADY, 1, 1.0);
    b.read(app, ReadTarget::Secret(sp_grafana), 4.0);
    b.read(app, ReadTarget::Secret(sp_slack), 6.0);

    let build_agent = b.identity(named("build-agent"), IdentityKind::ServicePrincipal, "1");
    b.network(build_agent, "self-hosted build agents", Place::Azure, 3);
    b.identity_mut(build_agent).clients = vec![BUILD_AGENT];
    let app = b.app(build_agent, &BUSINESS, 1, 0.15);
    b.read(app, ReadTarget::Secret(sp_github), 25.0);
    b.read(app, ReadTarget::Secret(sp_docker), 30.0);
    b.read(app, ReadTarget::Secret(sp_artifactory), 30.0);

    // ---- People ---------------------------------------------------------------------------
    let person = |b: &mut Builder, name: &str, upn: &str, offset_minutes: i64| {
        let id = b.identity(named(name), IdentityKind::User, "0");
        let identity = b.identity_mut(id);
        let (user, domain) = upn.split_once('@').unwrap_or((upn, "contoso.com"));
        identity.upn = Some(format!("{}@{domain}", named(user)));
        identity.utc_offset = offset_minutes * MINUTE;
        id
    };
    let alice = person(&mut b, "Alice Martin", "alice.martin@contoso.com", 60);
    let office_eu = b.network(alice, "contoso paris office", Place::Europe, 4);
    b.network(alice, "alice home", Place::Europe, 1);
    b.identity_mut(alice).clients = vec![PORTAL, CLI_WINDOWS];
    b.person(Person {
        identity: alice,
        role: Role::Engineer,
        vaults: vec![pay_dev],
        sessions_per_day: 1.0,
        denied_vault: None,
    });

    let bob = person(&mut b, "Bob Nguyen", "bob.nguyen@contoso.com", -300);
    b.network(bob, "bob home", Place::UsEast, 1);
    b.network(bob, "contoso vpn us-east", Place::UsEast, 3);
    b.identity_mut(bob).clients = vec![CLI, PORTAL_MAC];
    b.person(Person {
        identity: bob,
        role: Role::Engineer,
        vaults: vec![pay_prod, data_prod, web_prod, shared_prod],
        sessions_per_day: 1.3,
        denied_vault: None,
    });

    let carol = person(&mut b, "Carol Singh", "carol.singh@contoso.com", 330);
    b.network(carol, "contoso pune office", Place::India, 4);
    b.network(carol, "carol home", Place::India, 1);
    b.identity_mut(carol).clients = vec![PORTAL, CLI];
    b.person(Person {
        identity: carol,
        role: Role::Engineer,
        vaults: vec![data_test],
        sessions_per_day: 0.9,
        denied_vault: Some(data_prod),
    });

    let dave = person(&mut b, "Dave Okafor", "dave.okafor@contoso.com", 60);
    b.share_network(dave, alice, office_eu, 3);
    b.network(dave, "dave home", Place::Europe, 1);
    b.identity_mut(dave).clients = vec![PORTAL];
    b.person(Person {
        identity: dave,
        role: Role::Admin,
        vaults: vec![pay_prod, pay_dev, web_prod, data_prod, data_test, shared_prod],
        sessions_per_day: 0.35,
        denied_vault: None,
    });

    let erin = person(&mut b, "Erin Kowalski", "erin.kowalski@contoso.com", 60);
    b.share_network(erin, alice, office_eu, 2);
    b.network(erin, "erin home", Place::Europe, 1);
    b.identity_mut(erin).clients = vec![PORTAL, CLI];
    b.person(Person {
        identity: erin,
        role: Role::Engineer,
        vaults: vec![web_prod],
        sessions_per_day: 0.8,
        denied_vault: None,
    });

    // ---- Jobs and Microsoft services ------------------------------------------------------
    let backup = b.identity(named("kv-backup"), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(backup).mirid = Some(mirid(&prod_sub, "rg-platform-shared", uami, &named("id-kv-backup")));
    b.network(backup, "backup runner", Place::Azure, 1);
    b.identity_mut(backup).clients = vec![PYTHON_BACKUP];
    b.set_backup(Backup { identity: backup, vaults: vec![pay_prod, data_prod], at: 2 * HOUR });

    let rotator = b.identity(named("func-secret-rotator"), IdentityKind::ManagedIdentity, "2");
    b.identity_mut(rotator).mirid =
        Some(mirid(&prod_sub, "rg-platform-shared", "Microsoft.Web/sites", &named("func-secret-rotator")));
    b.network(rotator, "functions outbound", Place::Azure, 2);
    b.identity_mut(rotator).clients = vec![DOTNET_FUNCTIONS];
    b.set_rotator(Rotator { identity: rotator, secrets: vec![pp_jwt, wp_session, dp_storage], at: 4 * HOUR });

    let arg = b.identity("Azure Resource Graph".to_owned(), IdentityKind::MicrosoftService, "2");
    b.identity_mut(arg).appid = RESOURCE_GRAPH_APPID.to_owned();
    b.network(arg, "resource graph", Place::Azure, 2);
    b.identity_mut(arg).clients = vec![RESOURCE_GRAPH];
    b.scanner(Scanner { identity: arg, every: 4 * HOUR });
    let policy = b.identity("Azure Policy Insights".to_owned(), IdentityKind::MicrosoftService, "2");
    b.identity_mut(policy).appid = POLICY_INSIGHTS_APPID.to_owned();
    b.network(policy, "policy insights", Place::Azure, 2);
    b.identity_mut(policy).clients = vec![POLICY];
    b.scanner(Scanner { identity: policy, every: DAY });

    let app_service = b.identity("Microsoft Azure App Service".to_owned(), IdentityKind::MicrosoftService, "2");
    b.identity_mut(app_service).appid = APP_SERVICE_APPID.to_owned();
    b.network(app_service, "app service control plane", Place::Azure, 2);
    b.identity_mut(app_service).clients = vec![APP_SERVICE];
    b.set_cert_sync(CertSync { identity: app_service, secret: wp_cert, every: 6 * HOUR });

    // ---- Writes inside the period ---------------------------------------------------------
    // Rotations: the function rotates at night; people rotate by hand in working hours.
    // Consumers follow within their lag, except the stuck one.
    let rotation = |b: &mut Builder, s, when, valid, by| b.rotate(s, when, valid, by);
    let by_rotator = (rotator, 0, 0);
    let t = workday(&b, 0.15, 15, 5);
    rotation(&mut b, sp_smtp, t, Some(365), (bob, 0, 1));
    let t = at(&b, 0.3, 3, 15);
    rotation(&mut b, dp_storage, t, Some(180), by_rotator);
    let t = at(&b, 0.35, 3, 10);
    rotation(&mut b, pp_jwt, t, Some(180), by_rotator);
    let t = workday(&b, 0.45, 10, 40);
    rotation(&mut b, pd_db, t, Some(365), (alice, 0, 0));
    let t = at(&b, 0.55, 3, 20);
    rotation(&mut b, wp_session, t, Some(180), by_rotator);

    // A migration token carol creates mid-period and purges near the end
    // (`sensitive_operation`, planted in incidents).
    let t = workday(&b, 0.5, 6, 40);
    let tmp_spec = ordinary(&mut b.rng, days, "tmp-migration-token", NO_TAGS);
    let tmp_spec = SecretSpec { content_type: Some("text/plain"), ..tmp_spec };
    let tmp_migration_token = b.new_secret(data_test, tmp_spec, t, (carol, 0, 0));
    b.secret_mut(tmp_migration_token).deleted = Some(workday(&b, 0.88, 7, 15));

    // A reporting tool onboarded late: bob creates its connection string, the next day a new
    // service principal starts reading it (`new_identity`).
    let reporting_from = workday(&b, 0.8, 9, 30);
    // The previous working day at 14:20 UTC (10:20 for bob), or the period's first hour.
    let day_before = (1..=3)
        .map(|d| reporting_from - d * DAY)
        .find(|t| super::time::weekday(*t) < 5)
        .unwrap_or(reporting_from - DAY);
    let created = (day_before + 4 * HOUR + 50 * MINUTE).max(start + 30 * MINUTE);
    let spec = ordinary(&mut b.rng, days, "reporting-readonly-conn", TAGS_DATA_PROD);
    let spec = SecretSpec { content_type: Some("text/plain"), ..spec };
    let dp_reporting = b.new_secret(data_prod, spec, created, (bob, 0, 1));
    let reporting_etl = b.identity(named("reporting-etl"), IdentityKind::ServicePrincipal, "1");
    b.network(reporting_etl, "reporting vm", Place::Azure, 1);
    b.identity_mut(reporting_etl).clients = vec![PYTHON];
    let reporting_app = b.app(reporting_etl, &BUSINESS, 1, 0.2);
    b.read(reporting_app, ReadTarget::Secret(dp_reporting), 6.0).from = Some(reporting_from.max(created + 10 * MINUTE));

    let stolen_from = b.address(Place::Europe);
    let handles = Handles {
        pay_prod,
        pay_dev,
        web_prod,
        data_prod,
        data_test,
        shared_prod,
        payments_api,
        web_frontend,
        web_frontend_app,
        data_pipeline_test,
        build_agent,
        platform_gateway,
        reporting_etl,
        reporting_app,
        alice,
        bob,
        carol,
        dave,
        erin,
        stolen_from,
        stolen_client,
        tmp_migration_token,
        reporting_from: reporting_from.max(created + 10 * MINUTE),
    };
    *used_prefixes = std::mem::take(&mut b.used_prefixes);
    (b.finish(), handles)
}

/// The order in which `--vaults K` keeps a team's vaults: the first K of these, richest in
/// stories first (kv-web-prod alone already has a volume spike, a mass retrieval and a
/// denial burst; with kv-payments-prod a backup and a leaked credential; and so on).
fn vault_preference(h: &Handles) -> [VaultId; 6] {
    [h.web_prod, h.pay_prod, h.data_prod, h.pay_dev, h.data_test, h.shared_prod]
}

/// The number of vaults of a team.
pub const TEAM_VAULTS: u32 = 6;

/// Keeps the first `count` vaults of [`vault_preference`] and what uses them
/// ([`World::keep_vaults`]); the vault handles of the others become [`ABSENT`].
pub fn keep_vaults(world: &mut World, h: &mut Handles, count: u32) {
    if count >= TEAM_VAULTS {
        return;
    }
    let keep: Vec<VaultId> = vault_preference(h)[..count as usize].to_vec();
    let map = world.keep_vaults(&keep);
    let remap = |v: &mut VaultId| *v = map.get(*v).copied().flatten().unwrap_or(ABSENT);
    for v in [&mut h.pay_prod, &mut h.pay_dev, &mut h.web_prod, &mut h.data_prod, &mut h.data_test, &mut h.shared_prod]
    {
        remap(v);
    }
    remap(&mut h.tmp_migration_token.vault);
}

/// A vault handle whose vault was left out (`--vaults`).
pub const ABSENT: VaultId = VaultId::MAX;

/// The world without the parts of planted stories that live in the cast: the migration
/// token is never deleted (its delete and purge are the incident) and the reporting tool is
/// never onboarded (its first read is the `new_identity` incident). Everything else, every
/// id and every draw, stays as it is.
pub fn without_incidents(world: &mut World, h: &Handles) {
    if let Some(secret) = world.vaults.get_mut(h.tmp_migration_token.vault) {
        secret.secrets[h.tmp_migration_token.index].deleted = None;
    }
    world.apps[h.reporting_app].reads.clear();
}

/// Microsoft first-party services are one service principal per tenant, whatever the team:
/// team `k > 0` takes the object id and addresses of team 0's.
pub fn share_microsoft_services(first: &World, world: &mut World) {
    for identity in world.identities.iter_mut().filter(|i| i.kind == IdentityKind::MicrosoftService) {
        if let Some(same) = first.identities.iter().find(|i| i.kind == identity.kind && i.appid == identity.appid) {
            identity.oid = same.oid.clone();
            identity.networks = same.networks.clone();
        }
    }
    world.tenant_id = first.tenant_id.clone();
}
