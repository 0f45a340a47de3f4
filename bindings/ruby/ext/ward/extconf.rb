# frozen_string_literal: true

# Builds ward/ward_ext against libward, found (first match wins):
#
#   --with-ward-source=DIR  a ward source tree (DIR/include/ward.h), built
#   --with-ward-build=DIR   in DIR (default: the source tree), whose
#                           libraries are in DIR/lib/.libs; the extension
#                           then records that directory as its run path.
#   the ward tree this file sits in (bindings/ruby/ext/ward), if it is built
#   --with-ward-dir=PREFIX (or --with-ward-include / --with-ward-lib)
#   pkg-config ward, then the compiler's default paths
#
# The extension links libward-guard, so that a SIGCHLD trap does not run for
# private children (see the README); --without-guard links plain libward.
# The same options pass through gem install: gem install ward -- --with-ward-source=DIR
require "mkmf"

def ward_tree(src, build)
  inc = File.join(src, "include")
  libs = File.join(build, "lib", ".libs")
  return nil unless File.exist?(File.join(inc, "ward.h"))
  return nil unless Dir[File.join(libs, "libward*.so*")].any?
  [File.expand_path(inc), File.expand_path(libs)]
end

use_guard = with_config("guard", true)
source = with_config("ward-source") || ENV["WARD_SOURCE_DIR"]
build = with_config("ward-build") || ENV["WARD_BUILD_DIR"] || source
tree = source ? ward_tree(source, build) : nil
if source && tree.nil?
  abort "ward: #{source} (built in #{build}) has no include/ward.h or lib/.libs/libward*.so"
end
here = File.expand_path("../../../..", __dir__)
tree ||= ward_tree(here, here) unless with_config("ward-dir") || with_config("ward-include")

if tree
  inc, libs = tree
  $INCFLAGS = "-I#{inc} #{$INCFLAGS}"
  $LDFLAGS = "-L#{libs} -Wl,-rpath,#{libs} #{$LDFLAGS}"
  message "ward: using the tree: #{inc}, #{libs}\n"
else
  dir_config("ward")
  pkg_config("ward")
end

abort "ward: ward.h not found (see the comment at the top of extconf.rb)" unless have_header("ward.h")
lib = use_guard ? "ward-guard" : "ward"
unless have_library(lib, "ward_spawn", "ward.h")
  abort "ward: lib#{lib} not found (see the comment at the top of extconf.rb)"
end
# A pkg-config "-lward" next to "-lward-guard" would load both copies.
$libs = $libs.split.reject { |l| l == "-lward" }.join(" ") if use_guard
have_library("dl", "dladdr")
have_library("pthread", "pthread_atfork")
have_func("pipe2", "unistd.h")
%w[ward_fork_prepare ward_waitpid ward_waitid ward_timedwait ward_pidfd].each do |f|
  abort "ward: lib#{lib} lacks #{f}; it is too old" unless have_func(f, "ward.h")
end

$CFLAGS << " -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers"
create_makefile("ward/ward_ext")
