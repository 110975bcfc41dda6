// Placeholder: the owner of this area replaces this file.
#include <gtest/gtest.h>
