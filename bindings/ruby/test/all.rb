# frozen_string_literal: true

# Runs every test of the ward Ruby binding (see helper.rb).
Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
