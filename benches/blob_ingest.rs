//! Pulling generated hourly blobs from Azurite into a lake: the first run over a backlog,
//! which is what a new user's first `kvaudit ingest --from az://…` does.
//!
//! `cargo bench --bench blob_ingest` (needs `KVAUDIT_AZURITE`, as `scripts/test.sh` sets
//! it): generates `KVAUDIT_BENCH_DAYS` days (default 7) of logs, uploads them as append
//! blobs in 1 MiB blocks to an in-memory Azurite, ingests them in-process with
//! `ingest_blobs` (8 downloads at a time) and prints blobs, records, MB and MB/s.
//! `cargo test --bench blob_ingest -- --bench` runs the same in the test profile, without a
//! release build. `cargo test --benches` runs it on one small day, so it cannot rot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use azure_core::credentials::Secret;
use azure_core::http::RequestContent;
use azure_storage_blob::BlobContainerClient;
use kvaudit::ingest::{BlobIngestOptions, IngestOptions, ingest_blobs};
use kvaudit::lake::LakePaths;
use kvaudit::source::azure::{BlobConfig, BlobLocation, Credential, SasToken};

const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn sas() -> String {
    let (sv, ss, srt, sp, se, spr) = ("2020-08-04", "b", "sco", "rwdlacup", "2099-01-01T00:00:00Z", "https,http");
    let to_sign = format!("{ACCOUNT}\n{sp}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n");
    let sig = azure_core::hmac::hmac_sha256(&to_sign, &Secret::new(KEY)).unwrap();
    let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
    format!("sv={sv}&ss={ss}&srt={srt}&sp={sp}&se={se}&spr={spr}&sig={sig}")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { files(&p, out) } else { out.push(p) }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let days: u32 =
        if full { std::env::var("KVAUDIT_BENCH_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(7) } else { 1 };
    let scale = if full { 1.0 } else { 0.1 };
    let azurite = std::env::var_os("KVAUDIT_AZURITE").expect("KVAUDIT_AZURITE is not set: run through scripts/test.sh");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(azurite)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--inMemoryPersistence"])
        .args(["--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Azurite starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Azurite did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = dir.path().join("logs");
    let options = kvaudit::generate::GenerateOptions { out: logs.clone(), days, scale, ..Default::default() };
    kvaudit::generate::generate(&options).unwrap();
    let root = logs.join("insights-logs-auditevent");
    let mut blobs = Vec::new();
    files(&root, &mut blobs);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/{ACCOUNT}");
    let mut url = url::Url::parse(&format!("{endpoint}/bench")).unwrap();
    url.set_query(Some(&sas()));
    let container = BlobContainerClient::new(url, None, None).unwrap();
    runtime.block_on(async {
        container.create(None).await.unwrap();
        for path in &blobs {
            let name = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            let append = container.blob_client(&name).append_blob_client();
            append.create(None).await.unwrap();
            for chunk in std::fs::read(path).unwrap().chunks(1 << 20) {
                append.append_block(RequestContent::from(chunk.to_vec()), chunk.len() as u64, None).await.unwrap();
            }
        }
    });
    let blob = BlobIngestOptions {
        config: BlobConfig {
            location: BlobLocation::parse(&format!("az://{ACCOUNT}/bench")).unwrap().unwrap(),
            endpoint: url::Url::parse(&endpoint).unwrap(),
            credential: Credential::Sas(SasToken::new(&sas()).unwrap()),
            retry_for: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            concurrency: 8,
            grace_hours: 2,
            full_listing_every: None,
        },
        chunk_bytes: 4 << 20,
        full_listing: false,
    };
    let lake = LakePaths::new(dir.path().join("lake"));
    let options = IngestOptions::new(lake, PathBuf::from("az://bench"));
    let summary = ingest_blobs(&options, &blob, runtime.handle()).unwrap();
    println!(
        "blob_ingest: {} blobs, {} records, {:.1} MB from Azurite in {:.2} s: {:.1} MB/s, {:.0} records/s, {:.0} blobs/s",
        summary.files,
        summary.records,
        summary.bytes as f64 / 1e6,
        summary.seconds,
        summary.mb_per_second,
        summary.records_per_second,
        summary.files as f64 / summary.seconds
    );
    assert_eq!(summary.files as usize, blobs.len());
    let _ = child.kill();
    let _ = child.wait();
}
