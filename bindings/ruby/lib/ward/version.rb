# frozen_string_literal: true

module Ward
  # The version of the gem (the binding), which follows libward's.
  VERSION = "0.1.0"
end
