//! A directory laid out as the kubelet lays out a mounted Secret: each key a symlink through
//! `..data` to a timestamped directory, and an update made by writing a new directory and
//! swapping `..data` in one rename.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

pub struct SecretVolume {
    dir: PathBuf,
    generation: usize,
}

impl SecretVolume {
    /// A volume in `dir` (created) holding `files`, name and contents.
    pub fn new(dir: &Path, files: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let mut volume = SecretVolume {
            dir: dir.to_owned(),
            generation: 0,
        };
        volume.publish(files);
        for (name, _) in files {
            symlink(Path::new("..data").join(name), dir.join(name)).unwrap();
        }
        volume
    }

    /// The path a key is read at.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Replaces every key's contents at once, as the kubelet does when the Secret changes.
    pub fn publish(&mut self, files: &[(&str, &str)]) {
        self.generation += 1;
        let generation = format!("..2026_12_05_00_00_{:02}", self.generation);
        std::fs::create_dir(self.dir.join(&generation)).unwrap();
        for (name, contents) in files {
            std::fs::write(self.dir.join(&generation).join(name), contents).unwrap();
        }
        let staged = self.dir.join("..data_tmp");
        symlink(&generation, &staged).unwrap();
        std::fs::rename(&staged, self.dir.join("..data")).unwrap();
    }
}
