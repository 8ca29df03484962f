"""Compiles policies/_index.pyx (the decision index, see there) when hatchling builds a wheel.

Cython turns it, with the policies/_index_*.pxi files it includes (one extension module), into C
and setuptools' build_ext compiles that with the machine's C compiler, in place, next to the
source: a regular wheel then carries the module, and an editable install finds it where
``policies`` is. Both tools come from ``[build-system] requires``.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "policies._index"
SOURCE = "policies/_index.pyx"


class CompiledIndexHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension

        root = self.root
        extension = Extension(MODULE, [os.path.join(root, SOURCE)], extra_compile_args=["-O2"])
        [compiled] = cythonize([extension], quiet=True, language_level=3)
        with tempfile.TemporaryDirectory() as temp:
            distribution = Distribution({"name": "hub", "ext_modules": [compiled]})
            build_ext = distribution.get_command_obj("build_ext")
            build_ext.inplace = True
            build_ext.build_temp = temp
            build_ext.ensure_finalized()
            cwd = os.getcwd()
            os.chdir(root)  # in place means relative to the current directory
            try:
                build_ext.run()
            finally:
                os.chdir(cwd)
            built = os.path.relpath(build_ext.get_ext_fullpath(MODULE), root)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append("/" + built.replace(os.sep, "/"))
