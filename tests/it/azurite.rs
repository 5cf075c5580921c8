//! A real Azurite (Microsoft's storage emulator) for the Blob Storage tests, started on a
//! free loopback port per test, in memory, and stopped when dropped. `scripts/test.sh`
//! installs it and names it in `KVAUDIT_AZURITE`; without it these tests fail, they do not
//! skip.
//!
//! The helpers write blobs the way Azure Monitor does: append blobs named
//! `resourceId=/SUBSCRIPTIONS/…/VAULTS/{NAME}/y=/m=/d=/h=/m=00/PT1H.json`, grown by blocks.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use azure_core::credentials::Secret;
use azure_core::http::RequestContent;
use azure_storage_blob::BlobContainerClient;

/// Azurite's well-known development account and key.
pub const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub struct Azurite {
    child: Option<Child>,
    pub port: u16,
    /// Set when the data lives on disk (so a restart keeps it).
    location: Option<PathBuf>,
    _workspace: tempfile::TempDir,
}

fn binary() -> PathBuf {
    let path = std::env::var_os("KVAUDIT_AZURITE").unwrap_or_else(|| {
        panic!(
            "KVAUDIT_AZURITE is not set: run the tests with scripts/test.sh, which installs Azurite (npm) and sets it"
        )
    });
    let path = PathBuf::from(path);
    assert!(path.exists(), "KVAUDIT_AZURITE names {}, which does not exist: run scripts/test.sh", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Azurite {
    /// An in-memory Azurite.
    pub fn start() -> Self {
        Self::spawn(free_port(), None)
    }

    /// An Azurite keeping its data in `location`, so that it can be stopped and started
    /// again with the same blobs (in-memory data would vanish with the process).
    pub fn start_on_disk(location: &Path) -> Self {
        Self::spawn(free_port(), Some(location.to_path_buf()))
    }

    fn spawn(port: u16, location: Option<PathBuf>) -> Self {
        let workspace = tempfile::tempdir().unwrap();
        let mut command = Command::new(binary());
        command.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()]);
        command.args(["--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"]);
        match &location {
            Some(dir) => command.arg("--location").arg(dir),
            // Azurite refuses --location with --inMemoryPersistence; its working directory
            // holds the little it writes besides the data.
            None => command.arg("--inMemoryPersistence").current_dir(workspace.path()),
        };
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("Azurite starts");
        let mut azurite = Azurite { child: Some(child), port, location, _workspace: workspace };
        azurite.wait_ready();
        azurite
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("Azurite exited before listening: {status}");
            }
            assert!(Instant::now() < deadline, "Azurite did not listen on port {} within 60 s", self.port);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the process with SIGTERM, as an outage would take the service away. (A
    /// SIGKILL would also lose Azurite's own on-disk metadata, which it saves
    /// periodically, and with it blobs the test wrote: that is Azurite's limit, not ours.)
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and location.
    pub fn restart(&mut self) {
        self.stop();
        let location = self.location.clone().expect("only an on-disk Azurite keeps its blobs across a restart");
        let fresh = Self::spawn(self.port, Some(location));
        let mut fresh = std::mem::ManuallyDrop::new(fresh);
        self.child = fresh.child.take();
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An account SAS for Azurite's development account (read, write, list, create,
/// delete, add), signed with its well-known key.
pub fn account_sas() -> String {
    let (sv, ss, srt, sp, se, spr) = ("2020-08-04", "b", "sco", "rwdlacup", "2099-01-01T00:00:00Z", "https,http");
    let to_sign = format!("{ACCOUNT}\n{sp}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n");
    let sig = azure_core::hmac::hmac_sha256(&to_sign, &Secret::new(KEY)).unwrap();
    let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
    format!("sv={sv}&ss={ss}&srt={srt}&sp={sp}&se={se}&spr={spr}&sig={sig}")
}

/// A container of one test, written through the SDK with the SAS.
pub struct Container {
    pub name: String,
    client: BlobContainerClient,
    runtime: tokio::runtime::Runtime,
}

/// A blob name in the archive layout.
pub fn blob_name(sub: &str, vault: &str, y: u32, m: u32, d: u32, h: u32) -> String {
    format!(
        "resourceId=/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{vault}/y={y:04}/m={m:02}/d={d:02}/h={h:02}/m=00/PT1H.json"
    )
}

impl Container {
    pub fn create(azurite: &Azurite, name: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut url = url::Url::parse(&format!("{}/{name}", azurite.endpoint())).unwrap();
        url.set_query(Some(&account_sas()));
        let client = BlobContainerClient::new(url, None, None).unwrap();
        runtime.block_on(client.create(None)).expect("the container is created");
        Container { name: name.to_string(), client, runtime }
    }

    /// `az://ACCOUNT/CONTAINER`.
    pub fn from(&self) -> String {
        format!("az://{ACCOUNT}/{}", self.name)
    }

    /// Creates an empty append blob (replacing any blob of that name).
    pub fn create_blob(&self, blob: &str) {
        let client = self.client.blob_client(blob).append_blob_client();
        self.runtime.block_on(client.create(None)).expect("the append blob is created");
    }

    /// Appends one block to an append blob, creating it first if needed.
    pub fn append(&self, blob: &str, bytes: &[u8]) {
        let client = self.client.blob_client(blob);
        if !self.runtime.block_on(client.exists()).unwrap() {
            self.create_blob(blob);
        }
        let append = client.append_blob_client();
        let body = RequestContent::from(bytes.to_vec());
        self.runtime.block_on(append.append_block(body, bytes.len() as u64, None)).expect("the block is appended");
    }

    /// A blob's bytes, if it exists.
    pub fn read(&self, blob: &str) -> Option<Vec<u8>> {
        let client = self.client.blob_client(blob);
        self.runtime.block_on(async {
            if !client.exists().await.unwrap() {
                return None;
            }
            let result = client.download(None).await.unwrap();
            Some(result.body.collect().await.unwrap().to_vec())
        })
    }

    /// Whether a blob exists.
    pub fn exists(&self, blob: &str) -> bool {
        self.runtime.block_on(self.client.blob_client(blob).exists()).unwrap()
    }

    /// The names of every blob under `prefix`, in name order.
    pub fn names(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        let options = azure_storage_blob::models::BlobContainerClientListBlobsOptions {
            prefix: Some(prefix.to_string()),
            ..Default::default()
        };
        self.runtime.block_on(async {
            let mut items = self.client.list_blobs(Some(options)).unwrap();
            let mut names = Vec::new();
            while let Some(item) = items.try_next().await.unwrap() {
                names.extend(item.name);
            }
            names
        })
    }

    /// Deletes a blob (to replace it with a new one).
    pub fn delete(&self, blob: &str) {
        self.runtime.block_on(self.client.blob_client(blob).delete(None)).expect("the blob is deleted");
    }
}
