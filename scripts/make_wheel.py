#!/usr/bin/env python3
"""Builds ranktop's platform wheel: the `ranktop` executable (installed into the environment's
bin, as ruff's and py-spy's wheels do) and the Python adapter package, in one file.

    scripts/make_wheel.py BINARY OUT_DIR [EXTENSION.so]

With EXTENSION (the adapter's C writers, `ranktop/_native*.c`, built for one CPython) the wheel
carries it and is tagged for that CPython (`cp311-cp311-...`): a compiled extension loads only
into the interpreter it was built for, and an honest tag makes pip pick the pure wheel elsewhere.
Without it the wheel is `py3-none-...` and the adapter runs its pure-Python writers.

Written by hand rather than through setuptools: a wheel is a zip with three metadata files
(PEP 427), and setuptools has no way to ship a prebuilt ELF executable under a platform tag.
The manylinux tag is the newest glibc symbol version the binary needs (read with objdump, the
check auditwheel makes), so the tag says exactly which systems it runs on.
"""

import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAPTER = os.path.join(ROOT, "clients", "python")


def project_metadata():
    text = open(os.path.join(ADAPTER, "pyproject.toml"), encoding="utf-8").read()
    version = re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    requires = re.search(r'^requires-python = "([^"]+)"', text, re.M).group(1)
    return version, requires


def glibc_baseline(binary):
    """The newest GLIBC_x.y the binary's dynamic symbols ask for, as (x, y)."""
    out = subprocess.run(["objdump", "-T", binary], check=True, capture_output=True, text=True).stdout
    versions = {tuple(int(p) for p in m.split(".")) for m in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", out)}
    newest = max(versions, default=(2, 17))  # manylinux2014's glibc, the oldest tag pip still knows
    return newest[0], newest[1]


def needed_libraries(binary):
    out = subprocess.run(["objdump", "-p", binary], check=True, capture_output=True, text=True).stdout
    return re.findall(r"NEEDED\s+(\S+)", out)


# What the binary may load from the system: glibc's, the C++ runtime's, and ncurses (every
# mainstream distribution ships libncursesw.so.6 and libtinfo.so.6; linking them statically
# would freeze a terminfo search path that differs between distributions).
ALLOWED = re.compile(r"^(libc|libm|libpthread|libdl|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s|libncursesw|libtinfo)\.so")


def extension_tag(extension):
    """"cp311" from `_native.cpython-311-x86_64-linux-gnu.so`: the interpreter it loads into."""
    match = re.match(r"^_native\.cpython-(\d)(\d+)-x86_64-linux-gnu\.so$", os.path.basename(extension))
    if not match:
        sys.exit("make_wheel: %s is not a CPython x86-64 Linux build of ranktop._native" % extension)
    return "cp%s%s" % match.groups()


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    binary, out_dir = sys.argv[1], sys.argv[2]
    extension = sys.argv[3] if len(sys.argv) == 4 else None
    version, requires_python = project_metadata()
    elves = [binary] + ([extension] if extension else [])
    for elf in elves:
        for library in needed_libraries(elf):
            if not ALLOWED.match(library):
                sys.exit("make_wheel: %s needs %s, which a user's machine may not have (is the Swift runtime linked statically?)" % (os.path.basename(elf), library))
    major, minor = max(glibc_baseline(elf) for elf in elves)
    python_tag, abi_tag = "py3", "none"
    if extension:
        python_tag = abi_tag = extension_tag(extension)
    tag = "%s-%s-manylinux_%d_%d_x86_64" % (python_tag, abi_tag, major, minor)
    name = "ranktop-%s-%s.whl" % (version, tag)
    data_dir = "ranktop-%s.data" % version
    info_dir = "ranktop-%s.dist-info" % version
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)

    files = []  # (archive path, bytes, executable)
    package = os.path.join(ADAPTER, "ranktop")
    for directory, subdirs, names in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for filename in sorted(names):
            if not filename.endswith(".py"):
                continue
            full = os.path.join(directory, filename)
            archive = os.path.relpath(full, ADAPTER).replace(os.sep, "/")
            files.append((archive, open(full, "rb").read(), False))
    if extension:
        files.append(("ranktop/%s" % os.path.basename(extension), open(extension, "rb").read(), False))
    files.append(("%s/scripts/ranktop" % data_dir, open(binary, "rb").read(), True))
    # Zero-code mode with only the environment variables set (multi-node runs): Python runs a .pth
    # file's `import` lines at start-up; this one looks at RANKTOP_ADDR and nothing else.
    pth = 'import os; os.environ.get("RANKTOP_ADDR") and __import__("ranktop._autoload_pth")\n'
    files.append(("ranktop_autoload.pth", pth.encode(), False))
    readme = open(os.path.join(ADAPTER, "README.md"), encoding="utf-8").read()
    metadata = (
        "Metadata-Version: 2.1\nName: ranktop\nVersion: %s\n"
        "Summary: top for distributed training runs: every rank's progress, barrier and collective waits, stalls, stacks\n"
        "License: Apache-2.0\nRequires-Python: %s\nDescription-Content-Type: text/markdown\n\n%s"
    ) % (version, requires_python, readme)
    wheel = "Wheel-Version: 1.0\nGenerator: ranktop scripts/make_wheel.py\nRoot-Is-Purelib: false\nTag: %s\n" % tag
    files.append(("%s/METADATA" % info_dir, metadata.encode(), False))
    files.append(("%s/WHEEL" % info_dir, wheel.encode(), False))

    records = [record_line(a, d) for a, d, _ in files] + ["%s/RECORD,," % info_dir]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for arcname, data, executable in files:
            info = zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            archive.writestr(info, data)
        info = zipfile.ZipInfo("%s/RECORD" % info_dir, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (0o644 | stat.S_IFREG) << 16
        archive.writestr(info, "\n".join(records) + "\n")
    print(path)


if __name__ == "__main__":
    main()
