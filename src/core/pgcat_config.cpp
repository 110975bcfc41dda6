// Placeholder: the owner of this area replaces this file.
#include "core_only.hpp"
