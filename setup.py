"""Build of gdfast's C extension: csrc/ + gdfast/_kernels.pyx.

One compiler test decides OpenMP: with it the kernels are built with -fopenmp, without it (or with
GDFAST_NO_OPENMP=1) the same sources are built serial and a warning says so. GDFAST_SANITIZE=1 builds them
with AddressSanitizer and UndefinedBehaviorSanitizer (any report aborts); run Python with the sanitizer runtimes
preloaded (see .ci/sanitize).
"""
import os
import sys
import tempfile
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_TEST = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
# -O3 and vectorisation; no -ffast-math (it breaks NaN/Inf and agreement with gdfast/reference.py).
# -fno-math-errno lets sqrt vectorise and -fno-trapping-math lets comparisons and selects (AdaMax, AMSGrad)
# vectorise: neither changes a result, they only drop errno and floating-point traps, which nothing here uses.
# -ffp-contract=off keeps a*b+c rounded as written (no silent FMA), so every CPU gives the same bits.
BASE_FLAGS = ["-O3", "-std=c99", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fopenmp-simd"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"]


def compiler_accepts_openmp(compiler):
    """Compile and link a tiny OpenMP program with the compiler setuptools will use."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "omp_test.c")
        with open(source, "w") as f:
            f.write(OPENMP_TEST)
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, os.path.join(tmp, "omp_test"), extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


def _flag(name):
    return os.environ.get(name, "") in ("1", "true", "yes")


class BuildExt(build_ext):
    def build_extensions(self):
        use_openmp = not _flag("GDFAST_NO_OPENMP")
        if use_openmp and not compiler_accepts_openmp(self.compiler):
            warnings.warn("gdfast: the compiler does not support OpenMP; building the kernels serial (one thread)")
            use_openmp = False
        sanitize = SANITIZE_FLAGS if _flag("GDFAST_SANITIZE") else []
        for ext in self.extensions:
            ext.extra_compile_args = BASE_FLAGS + (["-fopenmp"] if use_openmp else []) + sanitize
            ext.extra_link_args = (["-fopenmp"] if use_openmp else []) + sanitize
        super().build_extensions()


if sys.platform == "win32":
    BASE_FLAGS = ["/O2"]

extensions = [
    Extension(
        "gdfast._kernels",
        sources=["gdfast/_kernels.pyx", "csrc/kernels.c", "csrc/svmlight.c"],
        include_dirs=["csrc", np.get_include()],
        depends=["csrc/common.h", "csrc/rules.h", "csrc/rules.def", "csrc/variants.def", "csrc/kernels.def",
                 "csrc/impl.h", "csrc/kernels.h", "csrc/csr.h", "csrc/linear.h", "csrc/linear_impl.h",
                 "csrc/random.h", "csrc/hogwild.h", "csrc/hogwild_impl.h", "csrc/losses.h",
                 "csrc/plain_sgd.h", "csrc/plain_sgd_impl.h", "csrc/svmlight.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
    cmdclass={"build_ext": BuildExt},
)
