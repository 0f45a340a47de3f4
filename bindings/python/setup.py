# setup.py - builds the Python module "ward" (the package ward/ and its C
# extension ward._ward) against libward, found (first match wins):
#
#   WARD_SOURCE_DIR=DIR  a ward source tree (DIR/include/ward.h), built in
#   WARD_BUILD_DIR=DIR   (default: the source tree), whose libraries are in
#                        DIR/lib/.libs; the extension then records that
#                        directory as its run path.
#   the ward tree this file sits in (bindings/python), if it is built
#   pkg-config ward, then the compiler's default paths
#
# The extension links libward-guard, so that a SIGCHLD handler does not run
# for private children (see README.md); WARD_GUARD=0 links plain libward.
#
#   python3 setup.py build
#   python3 setup.py install --prefix=/usr/local      (as root)
import os
import subprocess

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))


def tree(src, build):
    inc = os.path.join(src, "include")
    libs = os.path.join(build, "lib", ".libs")
    if os.path.exists(os.path.join(inc, "ward.h")) and any(
        n.startswith("libward") and ".so" in n for n in (os.listdir(libs) if os.path.isdir(libs) else [])
    ):
        return os.path.abspath(inc), os.path.abspath(libs)
    return None


guard = os.environ.get("WARD_GUARD", "1") != "0"
lib = "ward-guard" if guard else "ward"
source = os.environ.get("WARD_SOURCE_DIR")
found = None
if source:
    found = tree(source, os.environ.get("WARD_BUILD_DIR", source))
    if found is None:
        raise SystemExit("ward: %s has no include/ward.h or lib/.libs/libward*.so" % source)
else:
    top = os.path.abspath(os.path.join(here, "..", ".."))
    found = tree(top, top)

include_dirs, library_dirs, runtime_dirs = [], [], []
if found:
    include_dirs, library_dirs, runtime_dirs = [found[0]], [found[1]], [found[1]]
else:
    try:
        flags = subprocess.run(["pkg-config", "--cflags-only-I", "--libs-only-L", "ward"],
                               check=True, capture_output=True, text=True).stdout.split()
        include_dirs = [f[2:] for f in flags if f.startswith("-I")]
        library_dirs = [f[2:] for f in flags if f.startswith("-L")]
    except (OSError, subprocess.CalledProcessError):
        pass

setup(
    name="ward",
    version="0.1.0",
    description="Private child processes for Python: subprocess.Popen whose children no other code can reap",
    license="MIT",
    packages=["ward"],
    ext_modules=[
        Extension(
            "ward._ward",
            sources=["ward/_ward.c"],
            include_dirs=include_dirs,
            library_dirs=library_dirs,
            runtime_library_dirs=runtime_dirs,
            libraries=[lib, "dl", "pthread"],
            extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                                "-Wno-cast-function-type"],
        )
    ],
)
