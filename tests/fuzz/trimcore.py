#!/usr/bin/env python3
"""Cut a real ELF core down to a fuzz seed: the notes (threads, registers, signal,
file table, auxv), the first page of every mapped ELF object (headers, build-id) and a
few KiB of each thread's stack around its stack pointer; every other mapping stays in
the program headers with no bytes in the file, as the kernel writes a mapping that its
coredump_filter leaves out.
usage: trimcore.py CORE OUT [STACK_BYTES]   (x86-64 cores)"""
import struct
import sys

PT_LOAD, PT_NOTE, NT_PRSTATUS = 1, 4, 1
PAGE = 4096


def notes(data, off, size):
    end, p = off + size, off
    while p + 12 <= end:
        namesz, descsz, typ = struct.unpack_from('<III', data, p)
        name_end = p + 12 + ((namesz + 3) & ~3)
        yield typ, data[name_end:name_end + descsz]
        p = name_end + ((descsz + 3) & ~3)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 12288
    data = open(src, 'rb').read()
    assert data[:4] == b'\x7fELF' and data[4] == 2, 'not an ELF64 core'
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    phdrs = [list(struct.unpack_from('<IIQQQQQQ', data, phoff + i * phentsize))
             for i in range(phnum)]
    sps = []
    for ph in phdrs:
        if ph[0] == PT_NOTE:
            for typ, desc in notes(data, ph[2], ph[5]):
                if typ == NT_PRSTATUS and len(desc) >= 112 + 20 * 8:
                    sps.append(struct.unpack_from('<Q', desc, 112 + 19 * 8)[0])
    out = []  # (phdr fields, bytes)
    for ph in phdrs:
        typ, flags, off, vaddr, paddr, filesz, memsz, align = ph
        if typ == PT_NOTE:
            out.append(([typ, flags, 0, vaddr, paddr, filesz, memsz, align],
                        data[off:off + filesz]))
            continue
        if typ != PT_LOAD:
            out.append(([typ, flags, 0, vaddr, paddr, 0, memsz, align], b''))
            continue
        end = vaddr + memsz
        sp = next((s for s in sps if vaddr <= s < end), None)
        if sp is not None and filesz == memsz:
            lo = max(vaddr, (sp & ~(PAGE - 1)) - PAGE)
            hi = min(end, lo + keep)
            for a, b, with_data in ((vaddr, lo, False), (lo, hi, True), (hi, end, False)):
                if b > a:
                    body = data[off + a - vaddr:off + b - vaddr] if with_data else b''
                    out.append(([typ, flags, 0, a, paddr, len(body), b - a, align], body))
            continue
        head = data[off:off + min(filesz, PAGE)]
        if not (flags & 2) and head[:4] == b'\x7fELF':
            out.append(([typ, flags, 0, vaddr, paddr, len(head), memsz, align], head))
        else:
            out.append(([typ, flags, 0, vaddr, paddr, 0, memsz, align], b''))
    ehdr = bytearray(data[:64])
    struct.pack_into('<QHH', ehdr, 0x20, 64, phentsize, len(out))
    struct.pack_into('<H', ehdr, 0x38, len(out))
    struct.pack_into('<Q', ehdr, 0x28, 0)           # no section headers
    struct.pack_into('<HHH', ehdr, 0x3a, 0, 0, 0)
    pos = 64 + len(out) * phentsize
    blob = b''
    for ph, body in out:
        if body:
            pad = (-pos - len(blob)) % 16
            blob += b'\0' * pad
            ph[2] = pos + len(blob)
            blob += body
        else:
            ph[2] = pos + len(blob)
    with open(dst, 'wb') as f:
        f.write(bytes(ehdr))
        for ph, _ in out:
            f.write(struct.pack('<IIQQQQQQ', *ph) + b'\0' * (phentsize - 56))
        f.write(blob)


main()
