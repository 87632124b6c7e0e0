// The one place tests include Catch2 from (Debian's 2.13 single header). Moving to Catch2 3
// means changing this file and catch_main.cpp only.
#pragma once

#include <catch2/catch.hpp>
