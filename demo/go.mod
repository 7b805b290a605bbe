module cgoprof.demo/cgodemo

go 1.19
