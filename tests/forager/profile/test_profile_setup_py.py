"""setup.py is read through its AST: literal keywords only, anything computed means 'unknown'."""

from __future__ import annotations

PKG = {"mypkg/__init__.py": ""}


def test_literal_setup_call_with_module_level_names(profile_of):
    profile = profile_of(
        {
            **PKG,
            "setup.py": """
            from setuptools import setup, find_packages

            REQUIRES = ["requests>=2", "attrs"]
            EXTRAS = {"test": ["pytest", "mock"], "docs": ["sphinx"]}

            setup(
                name="mypkg",
                version="1.0",
                packages=find_packages(),
                install_requires=REQUIRES + ["click"],
                extras_require=EXTRAS,
                tests_require=["pytest-cov"],
                python_requires=">=3.8",
                classifiers=[
                    "Programming Language :: Python :: 3.9",
                    "Programming Language :: Python :: 3.10",
                ],
            )
            """,
        }
    )
    assert profile.name == "mypkg"
    assert profile.installable is True
    assert profile.build_backend == "setuptools"
    assert profile.dependencies == ["requests>=2", "attrs", "click"]
    assert profile.extras == {"test": ["pytest", "mock"], "docs": ["sphinx"]}
    assert profile.test_extras == ["test"]
    assert profile.test_requirements == ["pytest-cov"]
    assert profile.requires_python == ">=3.8"
    assert profile.python_versions == ["3.9", "3.10"]
    assert "dependencies from setup.py" in profile.hints


def test_computed_install_requires_means_unknown(profile_of):
    profile = profile_of(
        {
            **PKG,
            "setup.py": """
            from setuptools import setup

            with open("requirements.txt") as f:
                requires = f.read().splitlines()

            setup(name="mypkg", install_requires=requires, extras_require={"x": ["y"]})
            """,
            "requirements.txt": "requests\n",
        }
    )
    assert profile.dependencies is None
    assert profile.extras == {"x": ["y"]}
    assert profile.requirements_files == ["requirements.txt"]
    assert "dependencies computed in setup.py; pip resolves them" in profile.hints


def test_mutated_list_is_not_literal(profile_of):
    profile = profile_of(
        {
            **PKG,
            "setup.py": """
            import sys
            from setuptools import setup

            deps = ["a"]
            if sys.version_info < (3, 8):
                deps.append("importlib-metadata")
            setup(name="mypkg", install_requires=deps)
            """,
        }
    )
    assert profile.dependencies is None


def test_double_star_kwargs_literal_and_opaque(profile_of):
    literal = profile_of(
        {
            **PKG,
            "setup.py": """
            import setuptools
            kwargs = dict(name="mypkg", install_requires=["six"])
            setuptools.setup(**kwargs)
            """,
        }
    )
    assert (literal.name, literal.dependencies) == ("mypkg", ["six"])


def test_opaque_kwargs_and_no_keywords_fall_back(profile_of):
    profile = profile_of({**PKG, "setup.py": "from setuptools import setup\nsetup(**load_config())\n"})
    assert profile.dependencies is None
    assert profile.name == "repo"  # folder name


def test_bare_setup_shim_defers_to_setup_cfg(profile_of):
    profile = profile_of(
        {
            **PKG,
            "setup.py": "import setuptools\nsetuptools.setup()\n",
            "setup.cfg": """
            [metadata]
            name = fromcfg

            [options]
            install_requires =
                numpy>=1.20
            """,
        }
    )
    assert (profile.name, profile.dependencies) == ("fromcfg", ["numpy>=1.20"])


def test_setup_py_keywords_override_setup_cfg(profile_of):
    profile = profile_of(
        {
            **PKG,
            "setup.py": "from setuptools import setup\nsetup(install_requires=['b'])\n",
            "setup.cfg": "[metadata]\nname = cfgname\n[options]\ninstall_requires = a\n",
        }
    )
    assert (profile.name, profile.dependencies) == ("cfgname", ["b"])


def test_package_dir_marks_src_layout(profile_of):
    profile = profile_of(
        {
            "src/mypkg/__init__.py": "",
            "lib_other/__init__.py": "",
            "setup.py": "from setuptools import setup\nsetup(name='mypkg', package_dir={'': 'src'})\n",
        }
    )
    assert (profile.layout, profile.packages) == ("src", ["mypkg"])


def test_invalid_requirement_dropped_with_hint(profile_of):
    profile = profile_of(
        {**PKG, "setup.py": "from setuptools import setup\nsetup(install_requires=['good', 'bad req ==='])\n"}
    )
    assert profile.dependencies == ["good"]
    assert "dropped unparsable requirement 'bad req ===' from setup.py" in profile.hints
