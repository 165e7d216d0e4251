// pch_anchor.cpp — an empty translation unit that owns the tests' precompiled header.
