//! Lock files that the kernel releases when their holder dies, as OVS's
//! lib/lockfile.c uses them to keep two writers off one database.
//!
//! The lock is an *open file description* lock (`F_OFD_SETLK`), not a classic
//! POSIX one: it belongs to the one `open()` that took it, so a second open of
//! the same file conflicts with it even in the same process, and closing some
//! other descriptor of the file does not drop it. It goes away when its
//! descriptor is closed, which the kernel does for a process that dies,
//! before the process becomes a zombie.

use std::io;
use std::os::fd::RawFd;

/// Tries to take an exclusive lock on the whole file open on `fd`, without
/// waiting: `Ok(true)` when it is now held through `fd`, `Ok(false)` when
/// another open of the file holds a lock on it.
pub fn try_lock_exclusive(fd: RawFd) -> io::Result<bool> {
    // SAFETY: `flock` is plain data; all zeroes is a valid value, and OFD
    // locks require `l_pid` to be 0.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start = 0 and l_len = 0: from the first byte to any end of file.
    // SAFETY: F_OFD_SETLK reads the `flock` we pass and keeps no pointer to it.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &lock) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::os::fd::AsRawFd;
    use std::path::PathBuf;

    /// A file of this test's own, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!("tvs-lockfile-{}-{name}", std::process::id()));
            File::create(&path).unwrap();
            TempFile(path)
        }
        fn open(&self) -> File {
            OpenOptions::new().read(true).write(true).open(&self.0).unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_second_open_in_the_same_process_is_refused_until_the_first_closes() {
        let tmp = TempFile::new("same-process");
        let first = tmp.open();
        let second = tmp.open();
        assert!(try_lock_exclusive(first.as_raw_fd()).unwrap());
        assert!(!try_lock_exclusive(second.as_raw_fd()).unwrap());
        drop(first);
        assert!(try_lock_exclusive(second.as_raw_fd()).unwrap());
    }

    #[test]
    fn closing_another_descriptor_of_the_file_keeps_the_lock() {
        // A classic POSIX lock would be dropped here, which is why OVS keeps
        // a table of its lock files; an OFD lock is not.
        let tmp = TempFile::new("other-fd");
        let holder = tmp.open();
        assert!(try_lock_exclusive(holder.as_raw_fd()).unwrap());
        drop(tmp.open());
        assert!(!try_lock_exclusive(tmp.open().as_raw_fd()).unwrap());
    }

    #[test]
    fn locking_again_through_the_holding_descriptor_succeeds() {
        let tmp = TempFile::new("relock");
        let holder = tmp.open();
        assert!(try_lock_exclusive(holder.as_raw_fd()).unwrap());
        assert!(try_lock_exclusive(holder.as_raw_fd()).unwrap());
    }

    #[test]
    fn a_descriptor_that_is_not_open_is_an_error() {
        let err = try_lock_exclusive(-1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }
}
