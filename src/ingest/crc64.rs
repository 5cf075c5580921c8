//! CRC-64/NVME (the polynomial Azure Storage uses for its own `x-ms-content-crc64`), the
//! checksum a blob's checkpoint keeps of the bytes before its offset.
//!
//! Why a CRC: the value is its whole state, so the checksum of `[0, offset)` stored by one
//! run is extended by the next over `[offset, new offset)` without reading the old bytes
//! again (`extend(extend(0, a), b) == extend(0, a ++ b)`). A hash with a wider state
//! (xxHash, SHA-2) could not be resumed from what a checkpoint stores. Slicing by 8 makes
//! it about twice as fast as byte-at-a-time FNV-1a, which matters because every blob byte
//! ingested passes through it once.

/// The reflected polynomial of CRC-64/NVME.
const POLY: u64 = 0x9A6C_9329_AC4B_C9B5;

const fn tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 8 {
            t[j][i] = (t[j - 1][i] >> 8) ^ t[0][(t[j - 1][i] & 0xff) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

static TABLES: [[u64; 256]; 8] = tables();

/// The CRC of `a ++ bytes`, given `crc` = the CRC of `a` (0 for nothing).
pub fn extend(crc: u64, bytes: &[u8]) -> u64 {
    let t = &TABLES;
    let mut c = !crc;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        let x = c ^ u64::from_le_bytes(word.try_into().expect("chunks of 8"));
        c = t[7][(x & 0xff) as usize]
            ^ t[6][((x >> 8) & 0xff) as usize]
            ^ t[5][((x >> 16) & 0xff) as usize]
            ^ t[4][((x >> 24) & 0xff) as usize]
            ^ t[3][((x >> 32) & 0xff) as usize]
            ^ t[2][((x >> 40) & 0xff) as usize]
            ^ t[1][((x >> 48) & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in tail {
        c = t[0][((c ^ u64::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_check_value() {
        // The catalogue's check value of CRC-64/NVME over "123456789".
        assert_eq!(extend(0, b"123456789"), 0xAE8B_1486_0A79_9888);
        assert_eq!(extend(0, b""), 0);
    }

    #[test]
    fn extending_equals_checksumming_in_one_go() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = extend(0, &data);
        for cut in [0, 1, 7, 8, 9, 4095, 9999, 10_000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(extend(extend(0, a), b), whole, "cut at {cut}");
        }
        assert_ne!(extend(0, &data[..9999]), whole);
    }
}
