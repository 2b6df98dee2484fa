"""Compiled CPU cores (Cython over header-only C++17). Private: use the sksig API."""
