//! Questions on the terminal (or on piped standard input): a line per answer, the password
//! without echo when standard input is a terminal.

use std::io::{self, BufRead, Write};

/// Ask `question` on stderr and read one line from stdin, without its line ending. `None` when
/// stdin is closed.
pub fn ask(question: &str) -> io::Result<Option<String>> {
    eprint!("{question}");
    io::stderr().flush()?;
    read_line()
}

/// Like [`ask`], with the terminal's echo off while the answer is typed.
pub fn ask_secret(question: &str) -> io::Result<Option<String>> {
    eprint!("{question}");
    io::stderr().flush()?;
    let echo = EchoOff::new();
    let answer = read_line();
    if echo.needs_newline() {
        // The Enter the user typed was not echoed either.
        eprintln!();
    }
    drop(echo);
    answer
}

fn read_line() -> io::Result<Option<String>> {
    let mut line = String::new();
    if io::stdin().lock().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(Some(line))
}

/// The terminal's echo turned off for as long as this lives, when stdin is a terminal;
/// nothing otherwise (a pipe has no echo).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
    #[cfg(windows)]
    saved: Option<u32>,
}

#[cfg(unix)]
impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: plain termios calls on fd 0 with a zeroed struct the call fills in.
        unsafe {
            if libc::isatty(libc::STDIN_FILENO) != 1 {
                return EchoOff { saved: None };
            }
            let mut term: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                return EchoOff { saved: None };
            }
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            term.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) != 0 {
                return EchoOff { saved: None };
            }
            EchoOff { saved: Some(saved) }
        }
    }

    fn needs_newline(&self) -> bool {
        // ECHONL keeps the newline echoed.
        false
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}

#[cfg(windows)]
mod console {
    pub type Handle = *mut core::ffi::c_void;
    pub const STD_INPUT_HANDLE: u32 = -10i32 as u32;
    pub const ENABLE_ECHO_INPUT: u32 = 0x0004;
    #[link(name = "kernel32")]
    extern "system" {
        pub fn GetStdHandle(which: u32) -> Handle;
        pub fn GetConsoleMode(handle: Handle, mode: *mut u32) -> i32;
        pub fn SetConsoleMode(handle: Handle, mode: u32) -> i32;
    }
}

#[cfg(windows)]
impl EchoOff {
    fn new() -> EchoOff {
        use console::*;
        // SAFETY: console mode calls on the process's stdin handle; a pipe fails GetConsoleMode.
        unsafe {
            let handle = GetStdHandle(STD_INPUT_HANDLE);
            let mut mode = 0u32;
            if GetConsoleMode(handle, &mut mode) == 0 {
                return EchoOff { saved: None };
            }
            if SetConsoleMode(handle, mode & !ENABLE_ECHO_INPUT) == 0 {
                return EchoOff { saved: None };
            }
            EchoOff { saved: Some(mode) }
        }
    }

    fn needs_newline(&self) -> bool {
        self.saved.is_some()
    }
}

#[cfg(windows)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(mode) = self.saved {
            // SAFETY: restores the mode read in `new`.
            unsafe {
                console::SetConsoleMode(console::GetStdHandle(console::STD_INPUT_HANDLE), mode);
            }
        }
    }
}

#[cfg(not(any(unix, windows)))]
impl EchoOff {
    fn new() -> EchoOff {
        EchoOff {}
    }
    fn needs_newline(&self) -> bool {
        false
    }
}
