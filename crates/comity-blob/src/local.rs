//! Blobs in a local directory, content-addressed: `<root>/sha256/<first 2 hex>/<64 hex>`.
//!
//! A write goes to a temporary file in `<root>/tmp` (same file system), is fsynced, renamed into place, and the
//! directory holding it is fsynced, so a blob is either whole and durable or absent, even across a power cut.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{BlobError, BlobId, BlobStore};

/// The local directory store.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Makes the entries of `dir` durable (a rename or a new file in it).
async fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    let d = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&d).and_then(|f| f.sync_all()))
        .await
        .map_err(|e| BlobError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        })?
        .map_err(io(dir))
}

impl LocalBlobStore {
    /// A store rooted at `root`, created if missing.
    pub async fn open(root: &Path) -> Result<Self, BlobError> {
        for dir in [root.join("sha256"), root.join("tmp")] {
            tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        }
        sync_dir(root).await?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// Where a blob lives.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        let hex = id.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{}.part", uuid::Uuid::now_v7().simple()))
    }

    /// Moves a written, fsynced temporary file into place under `id`, or drops it if the blob exists already.
    async fn commit(&self, temp: &Path, id: &BlobId) -> Result<(), BlobError> {
        let target = self.path_of(id);
        if tokio::fs::try_exists(&target).await.map_err(io(&target))? {
            let _ = tokio::fs::remove_file(temp).await;
            return Ok(());
        }
        let Some(parent) = target.parent() else {
            return Err(BlobError::Config(format!(
                "`{}` has no parent directory",
                target.display()
            )));
        };
        if !tokio::fs::try_exists(parent).await.map_err(io(parent))? {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(parent))?;
            sync_dir(&self.root.join("sha256")).await?;
        }
        tokio::fs::rename(temp, &target)
            .await
            .map_err(io(&target))?;
        sync_dir(parent).await
    }

    /// Writes `chunks` to a new temporary file, fsyncs it and returns its path and digest.
    async fn write_temp(
        &self,
        mut next: impl AsyncReadExt + Unpin,
    ) -> Result<(PathBuf, BlobId), BlobError> {
        let temp = self.temp_path();
        let result = async {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .await
                .map_err(io(&temp))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = next.read(&mut buf).await.map_err(io(&temp))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).await.map_err(io(&temp))?;
            }
            file.sync_all().await.map_err(io(&temp))?;
            Ok(BlobId::from_digest(hasher.finalize().into()))
        }
        .await;
        match result {
            Ok(id) => Ok((temp, id)),
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    #[tracing::instrument(skip_all)]
    async fn put(&self, content: &[u8]) -> Result<BlobId, BlobError> {
        let (temp, id) = self.write_temp(content).await?;
        self.commit(&temp, &id).await?;
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn put_file(&self, path: &Path) -> Result<BlobId, BlobError> {
        let file = tokio::fs::File::open(path).await.map_err(io(path))?;
        let (temp, id) = self.write_temp(file).await?;
        self.commit(&temp, &id).await?;
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path_of(id);
        let content = match tokio::fs::read(&path).await {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if BlobId::of(&content) != *id {
            tracing::error!(blob = %id, "stored blob does not match its digest");
            return Err(BlobError::Corrupt(id.clone()));
        }
        Ok(Some(content))
    }

    #[tracing::instrument(skip_all)]
    async fn get_range(
        &self,
        id: &BlobId,
        offset: u64,
        len: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        use tokio::io::AsyncSeekExt;
        let path = self.path_of(id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io(&path))?;
        let mut part = Vec::new();
        file.take(len)
            .read_to_end(&mut part)
            .await
            .map_err(io(&path))?;
        Ok(Some(part))
    }

    async fn contains(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.path_of(id);
        tokio::fs::try_exists(&path).await.map_err(io(&path))
    }

    async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        let path = self.path_of(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&path)(e)),
        }
        match path.parent() {
            Some(parent) => sync_dir(parent).await,
            None => Ok(()),
        }
    }
}
