console.log('pwsh provisioning pending')
