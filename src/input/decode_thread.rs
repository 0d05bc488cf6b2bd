//! Where a gzip stream is decoded: on a thread of its own (`DecodedBlocks`,
//! blocks handed over through a channel) or on the reading thread while no
//! core is free, moving to a thread of its own once one is (`WhileBusy`).
use super::gzip::{check_member, Decode, Decoded, MemberEnd};
use std::io::{self, Read};
use std::sync::Arc;

/// What the decoder thread sends.
pub(super) enum Message {
    Block(Vec<u8>),
    MemberEnd(MemberEnd),
    /// The end, said explicitly: a channel closed without it means the
    /// decoder thread died, which must not pass for an end.
    End,
}

/// Decompressed bytes arrive from a decoder thread in blocks of this size.
pub(super) const DECODED_BLOCK: usize = 1 << 20;
/// Blocks in flight between the decoder and the scanner (bounds memory).
pub(super) const DECODED_BLOCKS_IN_FLIGHT: usize = 2;

/// A reader fed by a thread that decompresses: decoding (the slow part of a
/// gzip input) runs on one core while the scanner works on the other. The
/// members' CRC-32 checks run here, on the reading side: decoding is the
/// bottleneck, and the check is a sixth of its time.
pub(super) struct DecodedBlocks {
    blocks: std::sync::mpsc::Receiver<io::Result<Message>>,
    ended: bool,
    /// Emptied blocks go back to the decoder (no allocation, no zeroing of
    /// a fresh megabyte per block on the decoding thread, the bottleneck).
    spent: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    /// CRC-32 of the current member's bytes received so far.
    crc: flate2::Crc,
}

impl DecodedBlocks {
    /// Decodes on a new thread; `crc` holds the current member's CRC-32 of
    /// what was decoded before (by `WhileBusy`).
    pub(super) fn spawn<D: Decode>(mut decoder: D, crc: flate2::Crc) -> DecodedBlocks {
        let (sender, blocks) = std::sync::mpsc::sync_channel(DECODED_BLOCKS_IN_FLIGHT);
        let (spent, returned) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || loop {
            let mut block = returned.try_recv().unwrap_or_default();
            block.resize(DECODED_BLOCK, 0);
            let mut filled = 0;
            // What follows the block: nothing yet, a member's end, the end.
            let after = loop {
                match decoder.decode(&mut block[filled..]) {
                    Ok(Decoded::Bytes(n)) => {
                        filled += n;
                        if filled == block.len() {
                            break Ok(None);
                        }
                    }
                    Ok(Decoded::MemberEnd(end)) => break Ok(Some(Message::MemberEnd(end))),
                    Ok(Decoded::End) => break Ok(Some(Message::End)),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => break Err(err),
                }
            };
            block.truncate(filled);
            // A closed receiver means the scanner stopped: stop decoding.
            if filled > 0 && sender.send(Ok(Message::Block(block))).is_err() {
                return;
            }
            match after {
                Ok(None) => {}
                Ok(Some(Message::End)) => {
                    let _ = sender.send(Ok(Message::End));
                    return;
                }
                Ok(Some(message)) => {
                    if sender.send(Ok(message)).is_err() {
                        return;
                    }
                }
                Err(err) => {
                    let _ = sender.send(Err(err));
                    return;
                }
            }
        });
        DecodedBlocks {
            blocks,
            ended: false,
            spent,
            current: Vec::new(),
            position: 0,
            crc,
        }
    }
}

impl Read for DecodedBlocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(Message::Block(block))) => {
                    self.crc.update(&block);
                    let spent = std::mem::replace(&mut self.current, block);
                    if spent.capacity() > 0 {
                        let _ = self.spent.send(spent);
                    }
                    self.position = 0;
                }
                Ok(Ok(Message::MemberEnd(end))) => {
                    let checked = check_member(&self.crc, &end);
                    self.crc.reset();
                    if let Err(err) = checked {
                        self.ended = true;
                        return Err(err);
                    }
                }
                Ok(Ok(Message::End)) => self.ended = true,
                Ok(Err(err)) => {
                    self.ended = true;
                    return Err(err);
                }
                Err(_) => {
                    self.ended = true;
                    return Err(io::Error::other(
                        "internal error: the gzip decoder stopped before the end of the stream",
                    ));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// `GzipDecoding::WhileBusy`: decodes on the reading thread, straight into
/// the reader's buffer, until `busy` says a core is free; from then on the
/// rest of the stream is decoded on a thread of its own (`DecodedBlocks`),
/// the member's CRC-32 carried over.
pub(super) struct WhileBusy<D: Decode> {
    stage: Stage<D>,
    busy: Arc<dyn Fn() -> bool + Send + Sync>,
}

pub(super) enum Stage<D> {
    /// `crc`: of the current member's bytes decoded so far.
    Inline {
        decoder: D,
        crc: flate2::Crc,
    },
    Threaded(DecodedBlocks),
    Ended,
}

impl<D: Decode> WhileBusy<D> {
    pub(super) fn new(decoder: D, busy: Arc<dyn Fn() -> bool + Send + Sync>) -> Self {
        let crc = flate2::Crc::new();
        WhileBusy {
            stage: Stage::Inline { decoder, crc },
            busy,
        }
    }

    /// One inline step into `buf`: bytes, or the end (`Ok(0)`), or an error.
    fn decode_inline(decoder: &mut D, crc: &mut flate2::Crc, buf: &mut [u8]) -> io::Result<usize> {
        // The whole buffer at once: pieces small enough to stay in the
        // core's cache cost more in per-block work than they save (two
        // 1 GiB files at once, CPU: 3.56 s in 64 KiB pieces, 3.29 s in
        // 256 KiB, 3.12 s in 1 MiB).
        loop {
            match decoder.decode(buf) {
                Ok(Decoded::Bytes(n)) => {
                    crc.update(&buf[..n]);
                    return Ok(n);
                }
                Ok(Decoded::MemberEnd(end)) => {
                    let checked = check_member(crc, &end);
                    crc.reset();
                    checked?;
                }
                Ok(Decoded::End) => return Ok(0),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

impl<D: Decode> Read for WhileBusy<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if matches!(self.stage, Stage::Inline { .. }) && !(self.busy)() {
            if let Stage::Inline { decoder, crc } = std::mem::replace(&mut self.stage, Stage::Ended)
            {
                self.stage = Stage::Threaded(DecodedBlocks::spawn(decoder, crc));
            }
        }
        let result = match &mut self.stage {
            Stage::Inline { decoder, crc } => Self::decode_inline(decoder, crc, buf),
            Stage::Threaded(threaded) => return threaded.read(buf),
            Stage::Ended => return Ok(0),
        };
        if !matches!(result, Ok(n) if n > 0) {
            self.stage = Stage::Ended;
        }
        result
    }
}
