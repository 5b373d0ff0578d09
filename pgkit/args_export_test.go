package pgkit

// ConcreteArgsForTest is concreteArgs, for the allocation test.
func ConcreteArgsForTest(args []any) []any { return concreteArgs(args) }
