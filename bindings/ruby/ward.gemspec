# frozen_string_literal: true

# Build from the tree with one command:
#
#   gem build bindings/ruby/ward.gemspec
#
# and install it against a built ward tree, or an installed libward:
#
#   gem install ward-0.1.0.gem -- --with-ward-source=/path/to/ward
#   gem install ward-0.1.0.gem                  # pkg-config ward
require_relative "lib/ward/version"

Gem::Specification.new do |spec|
  spec.name = "ward"
  spec.version = Ward::VERSION
  spec.summary = "Private child processes for Ruby: Process.spawn_private, " \
                 "Process.fork_private, and a Process.wait that keeps its hands off them"
  spec.description = <<~DESC
    Bindings to libward.  Process.spawn_private and Process.fork_private start
    children whose exit status belongs to a Process::PrivateHandle: no
    Process.wait(-1), SIGCHLD trap or other thief in the process can take it.
    Process.wait and friends are rebuilt on ward's wait family.
  DESC
  spec.authors = ["The ward authors"]
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1" # Process._fork
  spec.platform = Gem::Platform::RUBY

  root = __dir__
  spec.files = Dir.chdir(root) do
    Dir["README.md", "lib/**/*.rb", "ext/ward/*.{c,rb}", "test/*.rb"].sort
  end
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/ward/extconf.rb"]
  spec.add_development_dependency "minitest", "~> 5"
end
